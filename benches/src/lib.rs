//! Shared by the criterion benches: the synthetic 1M-row dataset of the
//! peers' data-preparation benchmark, generated natively so that
//! `cargo bench` needs no Python.
//!
//! The columns, distributions, decimals and 5% missing cells follow
//! `compare/peers/gen_synth.py` (8 numeric and 4 categorical features with
//! 5-40 levels and a 0/1 label that is logistic in the clean features). The
//! bytes differ from the Python file (another random generator), the size
//! and the work per row do not. `compare/compare.py` runs anneal and the
//! peers on the Python-generated file itself.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anneal_core::rng::Rng;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A standard normal draw (Box-Muller).
fn normal(r: &mut Rng) -> f64 {
    let u = r.next_f64().max(f64::MIN_POSITIVE);
    let v = r.next_f64();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A Poisson draw (Knuth; small means only).
fn poisson(r: &mut Rng, mean: f64) -> u32 {
    let l = (-mean).exp();
    let (mut k, mut p) = (0u32, 1.0);
    loop {
        p *= r.next_f64();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// Writes `rows` synthetic rows to `path` (CSV with a header), for `seed`.
pub fn synth_csv(path: &Path, rows: usize, seed: u64) -> std::io::Result<()> {
    const COLORS: [&str; 5] = ["red", "green", "blue", "black", "white"];
    const DEVICES: [&str; 3] = ["desktop", "mobile", "tablet"];
    let zipf: Vec<f64> = {
        let w: Vec<f64> = (1..=40).map(|i| 1.0 / i as f64).collect();
        let total: f64 = w.iter().sum();
        let mut acc = 0.0;
        w.iter()
            .map(|x| {
                acc += x / total;
                acc
            })
            .collect()
    };
    let mut r = Rng::new(seed);
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        f,
        "age,income,score_a,score_b,ratio,visits,balance,temp,color,region,device,product,label"
    )?;
    let mut line = String::with_capacity(160);
    for _ in 0..rows {
        let age = 18 + r.below(73) as i64;
        let income = (10.5 + 0.6 * normal(&mut r)).exp();
        let score_a = normal(&mut r);
        let score_b = 50.0 + 10.0 * normal(&mut r);
        let ratio = r.next_f64();
        let visits = poisson(&mut r, 3.0);
        let balance = 1000.0 + 5000.0 * normal(&mut r);
        let temp = 20.0 + 8.0 * normal(&mut r);
        let color = r.below(5) as usize;
        let region = r.below(12) as usize;
        let u = r.next_f64();
        let device = if u < 0.5 { 0 } else if u < 0.9 { 1 } else { 2 };
        let u = r.next_f64();
        let product = zipf.iter().position(|&c| u < c).unwrap_or(39);
        let z = 0.03 * (age as f64 - 50.0)
            + 0.8 * (income.ln() - 10.5)
            + 0.7 * score_a
            - 0.04 * (score_b - 50.0)
            + 1.2 * (ratio - 0.5)
            + 0.15 * (visits as f64 - 3.0)
            + 0.0001 * (balance - 1000.0)
            + 0.3 * f64::from(device == 1)
            - 0.5 * f64::from(color == 3)
            + 0.05 * (region as f64 - 6.0)
            + 0.4 * f64::from(product < 5)
            - 0.3;
        let label = u8::from(r.next_f64() < 1.0 / (1.0 + (-z).exp()));
        line.clear();
        let cells: [String; 12] = [
            age.to_string(),
            format!("{income:.2}"),
            format!("{score_a:.4}"),
            format!("{score_b:.3}"),
            format!("{ratio:.5}"),
            visits.to_string(),
            format!("{balance:.2}"),
            format!("{temp:.1}"),
            COLORS[color].to_string(),
            format!("region_{region:02}"),
            DEVICES[device].to_string(),
            format!("P{product:03}"),
        ];
        for cell in cells {
            // 5% of each feature column missing, completely at random.
            if r.next_f64() >= 0.05 {
                line.push_str(&cell);
            }
            line.push(',');
        }
        let _ = write!(line, "{label}");
        writeln!(f, "{line}")?;
    }
    f.flush()
}

/// The config of the peers' pipeline for a synthetic file
/// (benches/compare/recipe.toml, as compare.py fills it in): median/mode
/// imputation without indicators, standardised numerics, one-hot
/// categoricals, a seeded unstratified 80/20 split, the standard MLP
/// (64-64, batch 64, Adam 1e-3).
pub fn synth_config(data: &Path, epochs: u32) -> String {
    include_str!("../compare/recipe.toml")
        .replace("@PATH@", &format!("{:?}", data.display().to_string()))
        .replace("@TARGET@", "label")
        .replace("@STRATIFY@", "false")
        .replace("@EPOCHS@", &epochs.to_string())
        .replace("@SEED@", "42")
}

/// A scratch folder holding a synthetic file of `rows` rows and its config.
pub struct Synth {
    pub dir: PathBuf,
    pub csv: PathBuf,
    pub config: PathBuf,
}

impl Synth {
    pub fn new(name: &str, rows: usize, epochs: u32) -> Synth {
        let dir = std::env::temp_dir().join(format!("anneal-bench-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let csv = dir.join(format!("synth_{rows}.csv"));
        synth_csv(&csv, rows, 42).expect("synthetic CSV");
        let config = dir.join("synth.toml");
        std::fs::write(&config, synth_config(&csv, epochs)).expect("config");
        Synth { dir, csv, config }
    }
}

impl Drop for Synth {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
