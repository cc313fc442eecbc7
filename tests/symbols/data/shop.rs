// A Rust program for the v0 demangling test: traits, generics, closures, dyn, const generics.
use std::collections::HashMap;
use std::fmt;

pub trait Rule { fn apply(&self, price: u64) -> u64; }

pub struct Percent(pub u8);
pub struct Fixed<T: Copy>(pub T);

impl Rule for Percent {
    #[inline(never)]
    fn apply(&self, price: u64) -> u64 { price - price * self.0 as u64 / 100 }
}

impl<T: Copy + Into<u64>> Rule for Fixed<T> {
    #[inline(never)]
    fn apply(&self, price: u64) -> u64 { price.saturating_sub(self.0.into()) }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "{}%", self.0) }
}

pub mod checkout {
    pub struct Cart<'a> { pub items: &'a [u64], pub tags: [u8; 4] }
    impl<'a> Cart<'a> {
        #[inline(never)]
        pub fn total(&self, rules: &[&dyn super::Rule]) -> u64 {
            let mut sum = self.items.iter().copied().sum::<u64>();
            for rule in rules { sum = rule.apply(sum); }
            sum + self.tags.iter().map(|t| *t as u64).sum::<u64>()
        }
    }
    #[inline(never)]
    pub fn pair<A: Clone, B: Clone>(a: &A, b: &B) -> (A, B) { (a.clone(), b.clone()) }
    #[inline(never)]
    pub fn arr<const N: usize>(x: [u8; N]) -> usize { x.len() + N }
}

fn main() {
    let items = vec![100u64, 250, 999];
    let cart = checkout::Cart { items: &items, tags: [1, 2, 3, 4] };
    let p = Percent(10);
    let f = Fixed(5u32);
    let rules: Vec<&dyn Rule> = vec![&p, &f];
    let mut seen: HashMap<String, u64> = HashMap::new();
    seen.insert(format!("{}", p), cart.total(&rules));
    let (a, b) = checkout::pair(&"x".to_string(), &3.5f64);
    let c = checkout::arr([1u8, 2, 3]);
    let closure = |x: u64| x * 2 + c as u64;
    println!("{:?} {} {} {}", seen, a, b, closure(std::env::args().count() as u64));
}
