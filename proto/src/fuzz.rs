//! Fuzz entry points: plain functions over arbitrary bytes (STUB).
