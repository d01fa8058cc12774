//! MLflow reads an artifact's `MLmodel` and enforces its signature on real
//! data with gaps. Runs with the Python of `.ci/run`'s client environment
//! (`ANNEAL_CLIENTS_PYTHON`, with mlflow-skinny and pandas); skips, and
//! says so, without it unless `ANNEAL_REQUIRE_CLIENTS=1`.

mod common;
use common::*;
use std::process::Command;

fn clients_python() -> Option<String> {
    match std::env::var("ANNEAL_CLIENTS_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var("ANNEAL_REQUIRE_CLIENTS").as_deref() != Ok("1"),
                "ANNEAL_REQUIRE_CLIENTS=1 but ANNEAL_CLIENTS_PYTHON is not set"
            );
            eprintln!("skipped: ANNEAL_CLIENTS_PYTHON is not set (.ci/run sets it)");
            None
        }
    }
}

/// penguins: `flipper_length_mm` and `body_mass_g` are integers with two
/// gaps each, so pandas reads them as float64. Declared `long`, MLflow
/// refused the frame ("Can not safely convert float64 to int64"); they are
/// declared `double`, as MLflow's own inference would, and `year` (no gaps)
/// stays `long`.
#[test]
fn mlflow_enforces_the_signature_on_data_with_gaps() {
    let Some(python) = clients_python() else {
        return;
    };
    let out = scratch("mlflow").join("run");
    train("penguins", &out);
    let o = Command::new(python)
        .arg(root().join("tests/clients/mlflow_signature.py"))
        .arg(out.join("artifact"))
        .arg(root().join("datasets/penguins.csv"))
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["rows"], 344);
    assert_eq!(v["missing"], 19);
    assert_eq!(v["types"]["body_mass_g"], "double");
    assert_eq!(v["types"]["flipper_length_mm"], "double");
    assert_eq!(v["types"]["year"], "long");
    assert_eq!(v["types"]["island"], "string");
}
