#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| toile_proto::fuzz::engine(data));
