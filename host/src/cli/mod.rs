pub mod decode;
pub mod demo;
pub mod id;
pub mod sim;
