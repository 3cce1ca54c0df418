pub mod bench;
pub mod decode;
pub mod demo;
pub mod id;
pub mod node;
pub mod pair;
pub mod sim;
pub mod sync;
