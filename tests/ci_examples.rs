//! The CI examples in `examples/ci/` run for real: the pipeline script the
//! GitHub Actions workflow and the GitLab CI job both call, with the real
//! binary and a scratch registry, through a first run (promoted), a
//! regression (stopped, champion kept), an override (promoted), and a pull
//! request (gated, not promoted). The CI services themselves are not run.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Pipeline {
    dir: PathBuf,
    registry: PathBuf,
}

impl Pipeline {
    fn new(name: &str) -> Pipeline {
        let dir = scratch(name);
        let registry = dir.join("registry");
        Pipeline { dir, registry }
    }

    /// `examples/ci/pipeline.sh CONFIG` with the test binary as `anneal`.
    fn run(&self, config: &Path, run: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(root().join("examples/ci/pipeline.sh"))
            .arg(config)
            .current_dir(&self.dir)
            .env("ANNEAL", env!("CARGO_BIN_EXE_anneal"))
            .env("ANNEAL_REGISTRY", &self.registry)
            .env("RUN_DIR", self.dir.join(run))
            .env("MODEL_NAME", "titanic")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GATE_OVERRIDE")
            .env_remove("PROMOTE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("bash runs")
    }

    /// The version `titanic@champion` points at (`None` before any).
    fn champion(&self) -> Option<u64> {
        let o = anneal(&[
            "registry",
            "--registry",
            s(&self.registry),
            "show",
            "titanic@champion",
            "--json",
        ]);
        if !o.status.success() {
            return None;
        }
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["number"].as_u64()
    }
}

/// titanic.toml with an absolute data path and `edit` applied, written
/// into `dir`.
fn config(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(root().join("configs/titanic.toml")).unwrap();
    let data = root().join("datasets/titanic.csv");
    let text = text.replace("\"../datasets/titanic.csv\"", &format!("{:?}", s(&data)));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, edit(text)).unwrap();
    path
}

#[test]
fn the_pipeline_trains_gates_and_promotes() {
    let p = Pipeline::new("ci-pipeline");
    let good = config(&p.dir, "titanic", |t| t);
    // 1. First run: no champion, no data check; the value thresholds pass
    //    and the baseline rules are skipped; the model becomes champion.
    let o = p.run(&good, "run1", &[]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let gate = read_json(&p.dir.join("run1/gate/gate.json"));
    assert_eq!(gate["outcome"], "pass");
    assert_eq!(gate["counts"]["skipped"], 3, "{gate}");
    assert!(p.dir.join("run1/gate/gate.junit.xml").is_file());
    assert!(!p.dir.join("run1.check-data").exists());
    assert_eq!(p.champion(), Some(1));

    // 2. A regression (the strongest feature dropped): the data check runs
    //    against the champion and passes (same file), the gate stops the
    //    model, and the champion stays.
    let bad = config(&p.dir, "nosex", |t| {
        t.replacen("[data]\n", "[data]\ndrop = [\"sex\"]\n", 1)
    });
    let o = p.run(&bad, "run2", &[]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let check = read_json(&p.dir.join("run2.check-data/check-data.json"));
    assert_eq!(check["outcome"], "pass", "{check}");
    let gate = read_json(&p.dir.join("run2/gate/gate.json"));
    assert_eq!(gate["outcome"], "fail");
    let failed: Vec<&str> = gate["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "threshold:accuracy[test]",
            "threshold:roc_auc[test]",
            "threshold:accuracy[test,sex=female]",
            "regression:accuracy[test]",
            "regression:log_loss[test]"
        ]
    );
    assert!(
        stderr(&o).contains("error: gate FAILED: 5 of "),
        "{}",
        stderr(&o)
    );
    assert_eq!(p.champion(), Some(1));

    // 3. A pull request: gated (passes: the same model as the champion),
    //    not pushed.
    let o = p.run(&good, "run3", &[("PROMOTE", "0")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("gate passed; not promoting (PROMOTE=0)"));
    let gate = read_json(&p.dir.join("run3/gate/gate.json"));
    assert_eq!(gate["counts"]["failed"], 0, "{gate}");
    assert_eq!(gate["counts"]["skipped"], 0, "{gate}");
    assert_eq!(p.champion(), Some(1));

    // 4. The regression again, forced through with a recorded reason.
    let o = p.run(
        &bad,
        "run4",
        &[(
            "GATE_OVERRIDE",
            "sex removed on legal advice; accepted by the owner",
        )],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let gate = read_json(&p.dir.join("run4/gate/gate.json"));
    assert_eq!(gate["outcome"], "overridden");
    assert_eq!(p.champion(), Some(2));
}

#[test]
fn the_ci_files_call_the_tested_script() {
    let dir = root().join("examples/ci");
    for file in ["github-actions.yml", "gitlab-ci.yml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            text.contains("examples/ci/pipeline.sh configs/titanic.toml examples/ci/gate.toml"),
            "{file}"
        );
        assert!(text.contains("runs/ci/gate/gate.junit.xml"), "{file}");
        assert!(text.contains("RUN_DIR: runs/ci"), "{file}");
        assert!(text.contains("ANNEAL: target/release/anneal"), "{file}");
    }
    // The policy the examples use is valid, for both commands.
    let o = anneal(&["config", "--config", "examples/ci/gate.toml"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a policy is not a training config"
    );
    let policy = anneal_config::load_policy(&dir.join("gate.toml")).unwrap();
    assert_eq!(policy.gate.unwrap().rules.len(), 6);
    assert!(policy.check_data.is_some());
}
