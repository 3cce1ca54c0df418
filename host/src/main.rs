fn main() {
    println!("{}", toile_proto::probe());
}
