fn main() {
    println!("klong: under construction");
}
