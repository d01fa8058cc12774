//! `anneal registry`: push, list, show, alias and pull through the real
//! binary, every reference form, the error lines and exit codes, a tampered
//! artifact, a stale lock, and concurrent pushes and alias moves.

mod common;
use common::*;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

/// Trains `configs/<config>.toml` (with `seed`, when given) once per test
/// binary; the artifact folders are shared, read-only, by every test.
fn trained(config: &str, seed: Option<u64>) -> PathBuf {
    type Cache = std::sync::Mutex<std::collections::BTreeMap<String, Arc<OnceLock<PathBuf>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = format!(
        "{config}-{}",
        seed.map_or("default".into(), |s| s.to_string())
    );
    let once = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key.clone())
        .or_default()
        .clone();
    once.get_or_init(|| {
        let run = scratch(&format!("registry-trained-{key}")).join("run");
        match seed {
            None => {
                train(config, &run);
            }
            Some(seed) => {
                let cfg = format!("configs/{config}.toml");
                let o = anneal(&[
                    "train",
                    "--config",
                    &cfg,
                    "--out",
                    run.to_str().unwrap(),
                    "--seed",
                    &seed.to_string(),
                    "--quiet",
                ]);
                assert!(o.status.success(), "train failed: {}", stderr(&o));
            }
        }
        run.join("artifact")
    })
    .clone()
}

fn iris() -> PathBuf {
    trained("iris", None)
}

fn penguins() -> PathBuf {
    trained("penguins", None)
}

fn id_of(artifact: &Path) -> String {
    read_json(&artifact.join("manifest.json"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `anneal registry --registry ROOT ARGS...`
fn reg(root: &Path, args: &[&str]) -> Output {
    let mut all = vec!["registry", "--registry", s(root)];
    all.extend_from_slice(args);
    anneal(&all)
}

/// Runs a registry command that must succeed and returns its stdout.
fn ok(root: &Path, args: &[&str]) -> String {
    let o = reg(root, args);
    assert!(
        o.status.success(),
        "registry {args:?} failed ({:?}): {}",
        o.status.code(),
        stderr(&o)
    );
    stdout(&o)
}

/// `show --json`, parsed.
fn show(root: &Path, reference: &str) -> serde_json::Value {
    serde_json::from_str(&ok(root, &["show", reference, "--json"])).unwrap()
}

fn number(root: &Path, reference: &str) -> u64 {
    show(root, reference)["number"].as_u64().unwrap()
}

/// Table rows of `list` output, cells split on runs of two or more spaces.
fn table(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Every path under `dir` (relative), recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.strip_prefix(dir).unwrap().to_path_buf());
        if path.is_dir() {
            out.extend(
                walk(&path)
                    .into_iter()
                    .map(|p| path.strip_prefix(dir).unwrap().join(p)),
            );
        }
    }
    out
}

/// Nothing the registry only keeps while working: no lock, no temporary
/// files or folders (all of which start with '.').
fn assert_clean(root: &Path) {
    let dot: Vec<_> = walk(root)
        .into_iter()
        .filter(|p| {
            p.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        })
        .collect();
    assert!(dot.is_empty(), "left behind: {dot:?}");
}

fn index(root: &Path, name: &str) -> serde_json::Value {
    read_json(&root.join("models").join(name).join("index.json"))
}

fn short(id: &str) -> &str {
    &id[..12]
}

#[test]
fn push_list_show_pull_round_trip() {
    let d = scratch("registry-roundtrip");
    let root = d.join("reg");
    let (iris, penguins) = (iris(), penguins());
    let (iris_id, penguins_id) = (id_of(&iris), id_of(&penguins));

    assert_eq!(
        ok(&root, &["push", s(&iris)]),
        format!(
            "pushed iris:v1 (id {}) to {}\n",
            short(&iris_id),
            root.display()
        )
    );
    assert_eq!(
        ok(&root, &["push", s(&penguins)]),
        format!(
            "pushed penguins:v1 (id {}) to {}\n",
            short(&penguins_id),
            root.display()
        )
    );

    // The stored copy: every file of the artifact, byte for byte, read-only.
    let stored = root.join("models/iris/versions").join(&iris_id);
    for entry in std::fs::read_dir(&iris).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(stored.join(name)).unwrap(),
            "{name:?}"
        );
        assert!(
            std::fs::metadata(stored.join(name))
                .unwrap()
                .permissions()
                .readonly()
        );
    }
    let idx = index(&root, "iris");
    assert_eq!(idx["format_version"], 1);
    assert_eq!(idx["name"], "iris");
    assert_eq!(idx["versions"][0]["number"], 1);
    assert_eq!(idx["versions"][0]["id"], iris_id.as_str());
    assert_eq!(idx["versions"][0]["version"], "1.0.0");
    let manifest = read_json(&iris.join("manifest.json"));
    assert_eq!(idx["versions"][0]["metrics"], manifest["metrics"]);

    let accuracy = |a: &Path| {
        format!(
            "accuracy {:.4}",
            read_json(&a.join("manifest.json"))["metrics"]["test"]["accuracy"]
                .as_f64()
                .unwrap()
        )
    };
    assert_eq!(
        table(&ok(&root, &["list"])),
        vec![
            row(&["MODEL", "VERSIONS", "LATEST", "ALIASES"]),
            row(&["iris", "1", &format!("v1 {}", short(&iris_id)), "-"]),
            row(&["penguins", "1", &format!("v1 {}", short(&penguins_id)), "-"]),
        ]
    );
    assert_eq!(
        table(&ok(&root, &["list", "penguins"])),
        vec![
            row(&["VERSION", "ID", "SEMVER", "METRIC", "ALIASES"]),
            row(&[
                "v1",
                short(&penguins_id),
                "1.0.0",
                &accuracy(&penguins),
                "-"
            ]),
        ]
    );

    let text = ok(&root, &["show", "iris"]);
    assert!(text.starts_with("iris:v1\n"), "{text}");
    assert!(
        text.contains(&format!("\nid:        {iris_id}\n")),
        "{text}"
    );
    assert!(text.contains("\naliases:   -\n"), "{text}");
    assert!(
        text.contains(&format!("\npath:      {}\n", stored.display())),
        "{text}"
    );
    let j = show(&root, "iris");
    assert_eq!(j["name"], "iris");
    assert_eq!(j["number"], 1);
    assert_eq!(j["reference"], "iris:v1");
    assert_eq!(j["id"], iris_id.as_str());
    assert_eq!(j["version"], "1.0.0");
    assert_eq!(j["task"], "multiclass");
    assert_eq!(j["aliases"], serde_json::json!([]));
    assert_eq!(j["path"], s(&stored));
    assert_eq!(j["manifest"], manifest);

    // Pull: a byte-identical artifact that predicts.
    let pulled = d.join("out/pulled");
    assert_eq!(
        ok(&root, &["pull", "iris:v1", "--out", s(&pulled)]),
        format!(
            "pulled iris:v1 (id {}) to {}\n",
            short(&iris_id),
            pulled.display()
        )
    );
    assert_eq!(
        std::fs::read(pulled.join("manifest.json")).unwrap(),
        std::fs::read(iris.join("manifest.json")).unwrap()
    );
    let mut names: Vec<_> = std::fs::read_dir(&pulled)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut original: Vec<_> = std::fs::read_dir(&iris)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    original.sort();
    assert_eq!(names, original);
    let preds = d.join("preds.csv");
    let o = anneal(&[
        "predict",
        "--artifact",
        s(&pulled),
        "--input",
        "datasets/iris.csv",
        "--output",
        s(&preds),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&preds).unwrap().lines().count(),
        151
    );

    // Pull never replaces a folder.
    let o = reg(&root, &["pull", "iris", "--out", s(&pulled)]);
    assert_error(
        &o,
        2,
        &format!(
            "error: {} already exists; pull creates a new folder and never replaces one",
            pulled.display()
        ),
    );
    assert_clean(&root);
    assert_clean(&d.join("out"));
}

#[test]
fn repush_is_idempotent() {
    let d = scratch("registry-repush");
    let root = d.join("reg");
    let iris = iris();
    let id = id_of(&iris);
    ok(&root, &["push", s(&iris)]);
    let before = std::fs::read(root.join("models/iris/index.json")).unwrap();
    let stored = root.join("models/iris/versions").join(&id);
    let modified = std::fs::metadata(stored.join("manifest.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        ok(&root, &["push", s(&iris)]),
        format!(
            "iris:v1 already holds artifact {}; nothing pushed\n",
            short(&id)
        )
    );
    assert_eq!(
        std::fs::read(root.join("models/iris/index.json")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::metadata(stored.join("manifest.json"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    // A re-push can still set aliases.
    assert_eq!(
        ok(&root, &["push", s(&iris), "--alias", "champion"]),
        format!(
            "iris:v1 already holds artifact {}; nothing pushed\niris@champion -> v1\n",
            short(&id)
        )
    );
    // Another artifact under the same name is the next version; the same
    // artifact under another name is another model.
    let other = trained("iris", Some(7));
    let other_id = id_of(&other);
    assert_ne!(other_id, id);
    assert_eq!(
        ok(&root, &["push", s(&other), "--alias", "candidate"]),
        format!(
            "pushed iris:v2 (id {}) to {}\niris@candidate -> v2\n",
            short(&other_id),
            root.display()
        )
    );
    ok(&root, &["push", s(&iris), "--name", "flowers"]);
    assert_eq!(number(&root, "flowers"), 1);
    assert_eq!(show(&root, "flowers")["id"], id.as_str());
    let versions: Vec<_> = index(&root, "iris")["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["number"].as_u64().unwrap(),
                v["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(versions, vec![(1, id.clone()), (2, other_id)]);
    assert_clean(&root);
}

#[test]
fn aliases_and_every_reference_form() {
    let d = scratch("registry-aliases");
    let root = d.join("reg");
    let (a, b) = (iris(), trained("iris", Some(7)));
    let (id1, id2) = (id_of(&a), id_of(&b));
    ok(&root, &["push", s(&a)]);
    ok(&root, &["push", s(&b), "--alias", "candidate"]);

    assert_eq!(
        ok(&root, &["alias", "iris@champion", "iris:v1"]),
        "iris@champion -> v1\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("models/iris/aliases/champion")).unwrap(),
        format!("{id1}\n")
    );
    assert_eq!(number(&root, "iris@champion"), 1);
    assert_eq!(number(&root, "iris@candidate"), 2);
    assert_eq!(
        show(&root, "iris@champion")["aliases"],
        serde_json::json!(["champion"])
    );

    // Every reference form.
    assert_eq!(number(&root, "iris"), 2, "the latest version");
    assert_eq!(number(&root, "iris:v1"), 1);
    assert_eq!(number(&root, "iris:v2"), 2);
    assert_eq!(number(&root, &format!("iris:{}", &id1[..8])), 1);
    assert_eq!(number(&root, &format!("iris:{}", &id2[..8])), 2);
    assert_eq!(number(&root, &format!("iris:{}", &id1[..20])), 1);
    assert_eq!(number(&root, &format!("iris:{id2}")), 2);
    assert_eq!(
        number(&root, &format!("iris:{}", id1[..8].to_ascii_uppercase())),
        1
    );

    // Promote the candidate: move champion to where candidate points.
    assert_eq!(
        ok(&root, &["alias", "iris@champion", "iris@candidate"]),
        "iris@champion -> v2 (was v1)\n"
    );
    assert_eq!(
        ok(
            &root,
            &["alias", "iris@champion", &format!("iris:{}", &id2[..8])]
        ),
        "iris@champion -> v2 (unchanged)\n"
    );
    assert_eq!(
        ok(&root, &["alias", "iris@candidate", "iris:v1"]),
        "iris@candidate -> v1 (was v2)\n"
    );
    assert_eq!(number(&root, "iris@champion"), 2);
    assert_eq!(number(&root, "iris@candidate"), 1);
    assert_eq!(
        table(&ok(&root, &["list"]))[1],
        row(&[
            "iris",
            "2",
            &format!("v2 {}", short(&id2)),
            "candidate=v1, champion=v2"
        ])
    );
    let rows = table(&ok(&root, &["list", "iris"]));
    assert_eq!(rows[1][4], "candidate");
    assert_eq!(rows[2][4], "champion");
    assert_clean(&root);
}

#[test]
fn alias_delete() {
    let d = scratch("registry-alias-delete");
    let root = d.join("reg");
    ok(
        &root,
        &[
            "push",
            s(&iris()),
            "--alias",
            "champion",
            "--alias",
            "candidate",
        ],
    );
    assert_eq!(
        ok(&root, &["alias", "iris@champion", "--delete"]),
        "deleted iris@champion (was v1)\n"
    );
    assert!(!root.join("models/iris/aliases/champion").exists());
    assert_error(
        &reg(&root, &["show", "iris@champion"]),
        2,
        "error: model iris has no alias \"champion\"; aliases: candidate",
    );
    assert_error(
        &reg(&root, &["alias", "iris@champion", "--delete"]),
        2,
        "error: model iris has no alias \"champion\"; aliases: candidate",
    );
    ok(&root, &["alias", "iris@candidate", "--delete"]);
    assert_error(
        &reg(&root, &["show", "iris@candidate"]),
        2,
        "error: model iris has no alias \"candidate\"; it has no aliases",
    );
    assert_clean(&root);
}

#[test]
fn errors_are_one_line_with_exit_codes() {
    let d = scratch("registry-errors");
    let root = d.join("reg");
    let iris = iris();
    let id = id_of(&iris);
    assert_eq!(
        ok(&root, &["list"]),
        format!("registry {} holds no models\n", root.display())
    );
    assert_error(
        &reg(&root, &["show", "iris"]),
        2,
        &format!(
            "error: no model \"iris\" in registry {}; it holds no models",
            root.display()
        ),
    );
    ok(&root, &["push", s(&iris)]);
    ok(&root, &["push", s(&penguins())]);

    let rule = "use 1 to 64 characters from A-Z a-z 0-9 . _ - (not starting with '.')";
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["show".into(), "nope".into()],
            format!(
                "no model \"nope\" in registry {}; models: iris, penguins",
                root.display()
            ),
        ),
        (
            vec!["list".into(), "nope".into()],
            format!(
                "no model \"nope\" in registry {}; models: iris, penguins",
                root.display()
            ),
        ),
        (
            vec!["show".into(), "iris@prod".into()],
            "model iris has no alias \"prod\"; it has no aliases".into(),
        ),
        (
            vec!["show".into(), "iris:v9".into()],
            "model iris has no version v9; versions: v1".into(),
        ),
        (
            vec!["show".into(), "iris:v0".into()],
            "bad reference \"iris:v0\": versions are numbered v1, v2, ...; v0 is not one".into(),
        ),
        (
            vec!["show".into(), "iris:abc".into()],
            "bad reference \"iris:abc\": an id prefix needs at least 8 hex characters, abc has 3"
                .into(),
        ),
        (
            vec!["show".into(), "iris:latest".into()],
            "bad reference \"iris:latest\": after ':' give vN (a version number) or at least 8 hex characters of the id".into(),
        ),
        (
            vec!["show".into(), "bad name".into()],
            format!("bad model name \"bad name\": {rule}"),
        ),
        (
            vec![
                "push".into(),
                s(&iris).into(),
                "--name".into(),
                "my/model".into(),
            ],
            format!("bad model name \"my/model\": {rule}"),
        ),
        (
            vec![
                "push".into(),
                s(&iris).into(),
                "--alias".into(),
                ".hidden".into(),
            ],
            format!("bad alias \".hidden\": {rule}"),
        ),
        (
            vec!["push".into(), s(&iris).into(), "--name".into(), "x".repeat(65)],
            format!("bad model name \"{}\": {rule}", "x".repeat(65)),
        ),
        (
            vec!["alias".into(), "iris@champ ion".into(), "iris:v1".into()],
            format!("bad alias \"champ ion\": {rule}"),
        ),
        (
            vec!["alias".into(), "iris".into(), "iris:v1".into()],
            "bad reference \"iris\": an alias is written NAME@ALIAS".into(),
        ),
        (
            vec!["alias".into(), "iris@champion".into(), "penguins:v1".into()],
            "alias iris@champion cannot point at penguins:v1: aliases point at versions of their own model".into(),
        ),
        (
            vec!["alias".into(), "iris@champion".into(), "iris@missing".into()],
            "model iris has no alias \"missing\"; it has no aliases".into(),
        ),
        (
            vec!["pull".into(), "iris:v2".into(), "--out".into(), s(&d.join("p")).into()],
            "model iris has no version v2; versions: v1".into(),
        ),
    ];
    for (args, line) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_error(&reg(&root, &args), 2, &format!("error: {line}"));
    }
    // An id prefix that matches nothing.
    let missing = if id.starts_with('0') {
        "11111111"
    } else {
        "00000000"
    };
    assert_error(
        &reg(&root, &["show", &format!("iris:{missing}")]),
        2,
        &format!(
            "error: model iris has no version with id prefix {missing}; versions: v1 {}",
            short(&id)
        ),
    );
    // Two ids sharing a prefix cannot come from real artifacts: a model
    // written by hand.
    let twins = root.join("models/twins");
    std::fs::create_dir_all(&twins).unwrap();
    let a = format!("abcdef0011{}", "1".repeat(54));
    let b = format!("abcdef0022{}", "2".repeat(54));
    let entry = |n: u32, id: &str| {
        serde_json::json!({"number": n, "id": id, "version": "1.0.0", "task": "binary",
            "metrics": {}, "pushed_at": "2026-01-01T00:00:00Z"})
    };
    std::fs::write(
        twins.join("index.json"),
        serde_json::to_string(&serde_json::json!({
            "format_version": 1, "name": "twins", "versions": [entry(1, &a), entry(2, &b)]
        }))
        .unwrap(),
    )
    .unwrap();
    assert_error(
        &reg(&root, &["show", "twins:abcdef00"]),
        2,
        "error: id prefix abcdef00 of model twins is ambiguous: it matches v1 abcdef001111, v2 abcdef002222; give more characters",
    );
    // A unique prefix resolves; this hand-made version has no files, which
    // `show` reports as a damaged registry.
    assert_error(
        &reg(&root, &["show", "twins:abcdef001"]),
        3,
        &format!(
            "error: registry {}: cannot read: No such file or directory (os error 2)",
            twins
                .join("versions")
                .join(&a)
                .join("manifest.json")
                .display()
        ),
    );
}

#[test]
fn tampered_artifacts_are_refused() {
    let d = scratch("registry-tampered");
    let root = d.join("reg");
    let copy = d.join("artifact");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(iris()).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
    }
    let model_json = copy.join("model.json");
    let original = std::fs::read(&model_json).unwrap();
    let mut changed = original.clone();
    changed.extend_from_slice(b" ");
    std::fs::write(&model_json, &changed).unwrap();
    let manifest = read_json(&copy.join("manifest.json"));
    let o = reg(&root, &["push", s(&copy)]);
    assert_error(
        &o,
        3,
        &format!(
            "error: artifact {}: model.json: content does not match the manifest ({} bytes; expected {} bytes): the file was modified or truncated",
            copy.display(),
            changed.len(),
            original.len()
        ),
    );
    assert!(!root.exists(), "a refused push leaves nothing behind");

    // A stored version damaged afterwards is refused at pull (exit 3).
    std::fs::write(&model_json, &original).unwrap();
    ok(&root, &["push", s(&copy)]);
    let stored = root
        .join("models/iris/versions")
        .join(manifest["id"].as_str().unwrap());
    let target = stored.join("model.safetensors");
    let mut perms = std::fs::metadata(&target).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&target, perms).unwrap();
    let mut bytes = std::fs::read(&target).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&target, &bytes).unwrap();
    let out = d.join("pulled");
    let o = reg(&root, &["pull", "iris", "--out", s(&out)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: artifact {}: model.safetensors: content does not match the manifest",
            stored.display()
        )),
        "{err}"
    );
    assert!(!out.exists());
    assert_clean(&d);
}

#[test]
fn default_root_and_stale_lock() {
    let d = scratch("registry-env");
    let root = d.join("from-env");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_anneal"))
            .arg("registry")
            .args(args)
            .env("ANNEAL_REGISTRY", &root)
            .current_dir(common::root())
            .output()
            .unwrap()
    };
    // A lock file left behind by a process that is gone does not block:
    // only the OS lock on it counts, and the kernel dropped that.
    std::fs::create_dir_all(&root).unwrap();
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(root.join(".lock"), format!("{dead}\n")).unwrap();
    let o = run(&["push", s(&iris())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(&format!("to {}", root.display())));
    assert!(stdout(&run(&["show", "iris", "--json"])).contains("\"number\": 1"));
    assert_clean(&root);
}

#[test]
fn concurrent_pushes_and_alias_moves() {
    let d = scratch("registry-concurrent");
    let root = d.join("reg");
    // Seven distinct artifacts, trained in parallel.
    let seeds: Vec<u64> = (101..=107).collect();
    let artifacts: Vec<PathBuf> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .iter()
            .map(|&seed| scope.spawn(move || trained("iris", Some(seed))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: BTreeSet<String> = artifacts.iter().map(|a| id_of(a)).collect();
    assert_eq!(
        ids.len(),
        artifacts.len(),
        "distinct seeds give distinct ids"
    );
    ok(&root, &["push", s(&artifacts[0]), "--alias", "stable"]);

    // Six pushes of the others (two of them twice) and alias moves, all at once.
    let bin = env!("CARGO_BIN_EXE_anneal");
    let spawn = |args: Vec<String>| {
        Command::new(bin)
            .arg("registry")
            .arg("--registry")
            .arg(&root)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut children = Vec::new();
    for (i, a) in artifacts[1..].iter().chain(&artifacts[1..3]).enumerate() {
        children.push(spawn(vec![
            "push".into(),
            s(a).into(),
            "--alias".into(),
            "candidate".into(),
        ]));
        let alias_args: Vec<String> = if i % 2 == 0 {
            vec!["alias".into(), "iris@champion".into(), "iris".into()]
        } else {
            vec!["alias".into(), "iris@stable".into(), "iris:v1".into()]
        };
        children.push(spawn(alias_args));
    }
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }

    let idx = index(&root, "iris");
    let versions = idx["versions"].as_array().unwrap();
    let numbers: Vec<u64> = versions
        .iter()
        .map(|v| v["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=ids.len() as u64).collect::<Vec<_>>());
    let stored: BTreeSet<String> = versions
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stored, ids, "every version exactly once");
    let folders: BTreeSet<String> = std::fs::read_dir(root.join("models/iris/versions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(folders, ids);
    assert_eq!(number(&root, "iris@stable"), 1);
    let champion = number(&root, "iris@champion");
    assert!((1..=7).contains(&champion));
    assert!((2..=7).contains(&number(&root, "iris@candidate")));
    assert_eq!(table(&ok(&root, &["list", "iris"])).len(), 8);
    assert_clean(&root);
}

#[test]
fn push_an_archive() {
    let d = scratch("registry-archive");
    let root = d.join("reg");
    let artifact = iris();
    let archive = d.join("iris.tar.gz");
    let o = anneal(&[
        "artifact",
        "pack",
        "--artifact",
        s(&artifact),
        "--out",
        s(&archive),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["registry", "--registry", s(&root), "push", s(&archive)])
        .env("ANNEAL_CACHE_DIR", d.join("cache"))
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let id = id_of(&artifact);
    assert_eq!(
        stdout(&o),
        format!("pushed iris:v1 (id {}) to {}\n", short(&id), root.display())
    );
    assert_eq!(
        std::fs::read(
            root.join("models/iris/versions")
                .join(&id)
                .join("manifest.json")
        )
        .unwrap(),
        std::fs::read(artifact.join("manifest.json")).unwrap()
    );
    assert_clean(&root);
}

/// `push` copies the artifact's own files only: a link (even to a file the
/// manifest lists, with the right content) or an unlisted entry is refused,
/// named, before anything is written; `pull` can therefore never hand out
/// what a link pointed at.
#[cfg(unix)]
#[test]
fn push_refuses_links_and_unlisted_entries() {
    let d = scratch("registry-links");
    let root = d.join("reg");
    let secret = d.join("dot-ssh");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(secret.join("id_ed25519"), "PRIVATE KEY\n").unwrap();
    let fresh = |name: &str| {
        let copy = d.join(name);
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(iris()).unwrap() {
            let p = entry.unwrap().path();
            std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
        }
        copy
    };
    let refused = |copy: &Path, line: String| {
        let o = reg(&root, &["push", s(copy)]);
        assert_error(&o, 3, &line);
        assert!(!root.exists(), "a refused push leaves nothing behind");
    };

    let copy = fresh("ssh-link");
    std::os::unix::fs::symlink(&secret, copy.join("keys")).unwrap();
    refused(
        &copy,
        format!(
            "error: artifact {}: keys: is a symbolic link (to {}); the registry stores regular files only",
            copy.display(),
            secret.display()
        ),
    );

    let copy = fresh("listed-link");
    let real = d.join("model.json");
    std::fs::rename(copy.join("model.json"), &real).unwrap();
    std::os::unix::fs::symlink(&real, copy.join("model.json")).unwrap();
    refused(
        &copy,
        format!(
            "error: artifact {}: model.json: is a symbolic link (to {}); the registry stores regular files only",
            copy.display(),
            real.display()
        ),
    );

    let copy = fresh("unlisted");
    std::fs::write(copy.join("notes.txt"), "hello\n").unwrap();
    refused(
        &copy,
        format!(
            "error: artifact {}: notes.txt: is not listed in the manifest; the registry stores only the artifact's own files (remove it)",
            copy.display()
        ),
    );

    let copy = fresh("folder");
    std::fs::create_dir(copy.join("extra")).unwrap();
    refused(
        &copy,
        format!(
            "error: artifact {}: extra: is not listed in the manifest; the registry stores only the artifact's own files (remove it)",
            copy.display()
        ),
    );

    // The clean copy goes in, and holds exactly the artifact's files.
    let copy = fresh("clean");
    ok(&root, &["push", s(&copy)]);
    let stored = root.join("models/iris/versions").join(id_of(&copy));
    let mut names: Vec<String> = std::fs::read_dir(&stored)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<String> = read_json(&copy.join("manifest.json"))["files"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .chain(["MLmodel".to_string(), "manifest.json".to_string()])
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    assert_clean(&root);
}

/// Two pushes of different artifacts at once, over and over: the version
/// numbers they are given are never the same.
#[test]
fn concurrent_pushes_never_share_a_number() {
    let d = scratch("registry-race");
    let a = iris();
    let b = trained("iris", Some(101));
    for round in 0..4 {
        let root = d.join(format!("reg{round}"));
        let children: Vec<_> = [&a, &b]
            .iter()
            .map(|art| {
                Command::new(env!("CARGO_BIN_EXE_anneal"))
                    .args(["registry", "--registry", s(&root), "push", s(art)])
                    .current_dir(common::root())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut said = BTreeSet::new();
        for child in children {
            let o = child.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
            let line = stdout(&o);
            let v = line.split_whitespace().nth(1).unwrap().to_string();
            assert!(said.insert(v.clone()), "both pushes were given {v}");
        }
        assert_eq!(
            said,
            BTreeSet::from(["iris:v1".to_string(), "iris:v2".to_string()])
        );
        let numbers: Vec<u64> = index(&root, "iris")["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, vec![1, 2]);
        assert_clean(&root);
    }
}
