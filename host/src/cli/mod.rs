pub mod chain;
pub mod decode;
pub mod demo;
pub mod id;
pub mod keys;
pub mod pay;
pub mod sim;
pub mod status;
