fn main() {
    println!("kdfs: under construction");
}
