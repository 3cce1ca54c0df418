//! Unit tests of the store on real SQLite files.
