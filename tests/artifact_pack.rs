//! `anneal artifact pack|verify|inspect` and packed artifacts: reproducible
//! archives, loading from them, every tampered file named, unsafe archives
//! refused with one clear line.

mod common;
use common::*;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use anneal_core::hash::sha256_hex;
use serde_json::Value;

/// Two artifacts trained from the same config and seed.
struct Runs {
    a: PathBuf,
    b: PathBuf,
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let d = scratch("pack-runs");
        train("iris", &d.join("a"));
        train("iris", &d.join("b"));
        Runs {
            a: d.join("a/artifact"),
            b: d.join("b/artifact"),
        }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `anneal` with its artifact cache in `cache`.
fn run(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(args)
        .current_dir(root())
        .env("ANNEAL_CACHE_DIR", cache)
        .output()
        .expect("the anneal binary runs")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    stdout(o)
}

fn pack(artifact: &Path, out: &Path, cache: &Path) -> Output {
    run(
        &[
            "artifact",
            "pack",
            "--artifact",
            s(artifact),
            "--out",
            s(out),
        ],
        cache,
    )
}

fn verify(path: &Path, cache: &Path) -> Output {
    run(&["artifact", "verify", s(path)], cache)
}

fn inspect_json(path: &Path, cache: &Path) -> Value {
    let o = run(&["artifact", "inspect", s(path), "--json"], cache);
    serde_json::from_str(&ok(&o)).unwrap()
}

fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for name in names_in(from) {
        fs::copy(from.join(&name), to.join(&name)).unwrap();
    }
}

fn manifest(dir: &Path) -> Value {
    read_json(&dir.join("manifest.json"))
}

#[test]
fn the_same_artifact_packs_to_the_same_bytes() {
    let r = runs();
    let d = scratch("pack-repro");
    let cache = d.join("cache");
    assert_eq!(
        read(&r.a.join("manifest.json")),
        read(&r.b.join("manifest.json")),
        "two trainings give the same artifact"
    );
    let id = manifest(&r.a)["id"].as_str().unwrap().to_string();
    let n = names_in(&r.a).len();
    for ext in ["tar.gz", "tar.zst"] {
        let pa = d.join(format!("a.{ext}"));
        let pb = d.join(format!("b.{ext}"));
        let out = ok(&pack(&r.a, &pa, &cache));
        assert!(
            out.starts_with(&format!("packed {id} ({n} files, ")),
            "{out}"
        );
        ok(&pack(&r.b, &pb, &cache));
        assert_eq!(read(&pa), read(&pb), "{ext}: byte-identical archives");
        // Packing again replaces the archive with the same bytes.
        ok(&pack(&r.a, &pa, &cache));
        assert_eq!(read(&pa), read(&pb), "{ext}: packing again");
    }
    let tgz = d.join("a.tgz");
    ok(&pack(&r.a, &tgz, &cache));
    assert_eq!(read(&tgz), read(&d.join("a.tar.gz")));
    // gzip: deflate, no flags (no file name), mtime 0, OS byte 255.
    let gz = read(&d.join("a.tar.gz"));
    assert_eq!(&gz[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    let zst = read(&d.join("a.tar.zst"));
    assert_eq!(&zst[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    // Nothing but the archives is left (atomic writes leave no temp file),
    // and the cache was not used for folders.
    assert_eq!(
        names_in(&d),
        ["a.tar.gz", "a.tar.zst", "a.tgz", "b.tar.gz", "b.tar.zst"]
    );
}

#[test]
fn archive_entries_are_sorted_plain_files_with_fixed_metadata() {
    let r = runs();
    let d = scratch("pack-entries");
    let cache = d.join("cache");
    let names = names_in(&r.a);
    assert!(names.contains(&"manifest.json".to_string()));
    assert!(names.contains(&"model.safetensors".to_string()));
    for ext in ["tar.gz", "tar.zst"] {
        let archive = d.join(format!("model.{ext}"));
        ok(&pack(&r.a, &archive, &cache));
        let j = inspect_json(&archive, &cache);
        let a = &j["archive"];
        assert_eq!(
            a["compression"],
            if ext == "tar.gz" { "gzip" } else { "zstd" }
        );
        assert_eq!(a["sha256"], sha256_hex(&read(&archive)).as_str());
        assert_eq!(a["bytes"], read(&archive).len() as u64);
        let entries = a["entries"].as_array().unwrap();
        let entry_names: Vec<&str> = entries
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(entry_names, names, "every file, sorted, at the root");
        for e in entries {
            let name = e["name"].as_str().unwrap();
            assert_eq!(e["mode"], "0644", "{name}");
            assert_eq!(e["uid"], 0, "{name}");
            assert_eq!(e["gid"], 0, "{name}");
            assert_eq!(e["mtime"], 0, "{name}");
            assert_eq!(e["user"], "", "{name}");
            assert_eq!(e["group"], "", "{name}");
            assert_eq!(e["bytes"], read(&r.a.join(name)).len() as u64, "{name}");
            assert_eq!(
                j["files"][name]["sha256"],
                sha256_hex(&read(&r.a.join(name))).as_str()
            );
        }
        assert_eq!(j["verified"], true);
        assert_eq!(j["problems"], serde_json::json!([]));
        // The archive and the folder describe the same artifact.
        let mut folder = inspect_json(&r.a, &cache);
        let mut packed = j.clone();
        for v in [&mut folder, &mut packed] {
            let o = v.as_object_mut().unwrap();
            o.remove("path");
            o.remove("archive");
        }
        assert_eq!(folder, packed);
    }
    // Inspect gathers what the artifact is.
    let j = inspect_json(&r.a, &cache);
    let m = manifest(&r.a);
    assert_eq!(j["id"], m["id"]);
    assert_eq!(j["name"], m["name"]);
    assert_eq!(j["task"], "multiclass");
    assert_eq!(j["target"]["column"], "species");
    assert_eq!(
        j["target"]["labels"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    assert_eq!(j["inputs"][0]["name"], "sepal length (cm)");
    assert_eq!(j["inputs"][0]["type"], "double");
    assert_eq!(
        j["model"]["architecture"]["hidden"],
        serde_json::json!([64, 64])
    );
    // Each of the 4 measurements enters as its scaled value and its
    // piecewise-linear pieces (up to 32 quantile bins): 105 inputs.
    assert_eq!(j["model"]["architecture"]["inputs"], 105);
    assert_eq!(
        j["model"]["parameters"],
        105 * 64 + 64 + 64 * 64 + 64 + 64 * 3 + 3
    );
    assert_eq!(j["seed"], 42);
    assert_eq!(j["metrics"], m["metrics"]);
    let text = ok(&run(&["artifact", "inspect", s(&r.a)], &cache));
    for want in [
        format!("id             {}", m["id"].as_str().unwrap()),
        "target         species (3 classes: setosa, versicolor, virginica)".into(),
        "model          mlp 105 -> 64 -> 64 -> 3 (relu), 11139 parameters".into(),
        "verified       ok".into(),
    ] {
        assert!(
            text.lines().any(|l| l == want),
            "no line {want:?} in:\n{text}"
        );
    }
}

#[test]
fn a_copied_archive_verifies_and_repacks_anywhere() {
    let r = runs();
    let d = scratch("pack-copy");
    let cache = d.join("cache");
    let id = manifest(&r.a)["id"].as_str().unwrap().to_string();
    let n = names_in(&r.a).len();
    let original = d.join("model.tar.zst");
    ok(&pack(&r.a, &original, &cache));
    let elsewhere = scratch("pack-copy-elsewhere");
    let copy = elsewhere.join("copy.tar.zst");
    fs::copy(&original, &copy).unwrap();
    assert_eq!(ok(&verify(&copy, &cache)), format!("ok {id} ({n} files)\n"));
    assert_eq!(ok(&verify(&r.a, &cache)), format!("ok {id} ({n} files)\n"));
    // Re-packing an archive unpacks it (into the cache) and gives the bytes
    // that packing the folder gives.
    let repacked = elsewhere.join("re.tar.gz");
    ok(&pack(&copy, &repacked, &cache));
    let direct = d.join("direct.tar.gz");
    ok(&pack(&r.a, &direct, &cache));
    assert_eq!(read(&repacked), read(&direct));
    let unpacked = cache.join("artifacts").join(sha256_hex(&read(&copy)));
    assert_eq!(names_in(&unpacked), names_in(&r.a));
    for name in names_in(&r.a) {
        assert_eq!(
            read(&unpacked.join(&name)),
            read(&r.a.join(&name)),
            "{name}"
        );
    }
    assert_eq!(
        names_in(&cache.join("artifacts")),
        [sha256_hex(&read(&copy))],
        "no temporary folder is left in the cache"
    );
    // A damaged cached copy is noticed and unpacked again.
    fs::write(unpacked.join("model.json"), "{}").unwrap();
    ok(&pack(&copy, &repacked, &cache));
    assert_eq!(read(&repacked), read(&direct));
    assert_eq!(
        read(&unpacked.join("model.json")),
        read(&r.a.join("model.json"))
    );
}

#[test]
fn predictions_from_an_archive_match_the_folder() {
    // Needs `predict` to open its artifact through `anneal_artifact::resolve`.
    let r = runs();
    let d = scratch("pack-predict");
    let cache = d.join("cache");
    let predict = |artifact: &Path, out: &Path| {
        ok(&run(
            &[
                "predict",
                "--artifact",
                s(artifact),
                "--input",
                "datasets/iris.csv",
                "--output",
                s(out),
            ],
            &cache,
        ))
    };
    predict(&r.a, &d.join("folder.csv"));
    let expected = read(&d.join("folder.csv"));
    for ext in ["tar.gz", "tar.zst"] {
        let archive = d.join(format!("model.{ext}"));
        ok(&pack(&r.a, &archive, &cache));
        let out = d.join(format!("{ext}.csv"));
        predict(&archive, &out);
        assert_eq!(read(&out), expected, "{ext}");
        // A second load reuses the unpacked copy.
        predict(&archive, &out);
        assert_eq!(read(&out), expected, "{ext}, cached");
        assert!(
            cache
                .join("artifacts")
                .join(sha256_hex(&read(&archive)))
                .join("manifest.json")
                .is_file()
        );
    }
}

#[test]
fn verify_names_every_changed_file_and_both_hashes() {
    let r = runs();
    let d = scratch("pack-tamper");
    let cache = d.join("cache");
    let art = d.join("artifact");
    copy_dir(&r.a, &art);
    let m = manifest(&art);
    let listed = |name: &str| {
        (
            m["files"][name]["sha256"].as_str().unwrap().to_string(),
            m["files"][name]["bytes"].as_u64().unwrap(),
        )
    };
    // One byte of the weights.
    let weights = art.join("model.safetensors");
    let mut w = read(&weights);
    let mid = w.len() / 2;
    w[mid] ^= 0x01;
    fs::write(&weights, &w).unwrap();
    let (old, n) = listed("model.safetensors");
    let weights_line = format!(
        "model.safetensors: modified (sha256 {}, {n} bytes; manifest says {old}, {n} bytes)",
        sha256_hex(&w)
    );
    let o = verify(&art, &cache);
    assert_error(
        &o,
        3,
        &format!(
            "error: artifact {} does not verify: 1 problem (model.safetensors)",
            art.display()
        ),
    );
    assert_eq!(stdout(&o), format!("{weights_line}\n"));

    // Several at once: every one is listed.
    let config = art.join("config.toml");
    let mut c = read(&config);
    c.extend_from_slice(b"# edited\n");
    fs::write(&config, &c).unwrap();
    let (old_c, n_c) = listed("config.toml");
    fs::remove_file(art.join("preprocess.json")).unwrap();
    fs::write(art.join("extra.bin"), b"x").unwrap();
    let text = String::from_utf8(read(&art.join("manifest.json"))).unwrap();
    let id = m["id"].as_str().unwrap();
    let edited = text.replacen("\"seed\": 42", "\"seed\": 43", 1);
    assert_ne!(edited, text);
    fs::write(art.join("manifest.json"), &edited).unwrap();
    let actual = sha256_hex(
        edited
            .replacen(&format!("  \"id\": \"{id}\",\n"), "", 1)
            .as_bytes(),
    );
    let o = verify(&art, &cache);
    assert_error(
        &o,
        3,
        &format!(
            "error: artifact {} does not verify: 5 problems (manifest.json, config.toml, extra.bin, model.safetensors, preprocess.json)",
            art.display()
        ),
    );
    let want = [
        format!(
            "manifest.json: id {id} does not match its content ({actual}); the manifest was edited"
        ),
        format!(
            "config.toml: modified (sha256 {}, {} bytes; manifest says {old_c}, {n_c} bytes)",
            sha256_hex(&c),
            c.len()
        ),
        "extra.bin: not listed in the manifest".to_string(),
        weights_line,
        "preprocess.json: missing".to_string(),
    ];
    assert_eq!(stdout(&o), format!("{}\n", want.join("\n")));

    // Such an artifact is not packed, and inspect says it does not verify.
    let out = d.join("x.tar.gz");
    let o = pack(&art, &out, &cache);
    assert_error(
        &o,
        3,
        &format!(
            "error: artifact {} does not verify: {}",
            art.display(),
            want.join("; ")
        ),
    );
    assert!(!out.exists());
    let text = ok(&run(&["artifact", "inspect", s(&art)], &cache));
    assert!(
        text.contains("verified       NO: 5 problems (run `anneal artifact verify`)"),
        "{text}"
    );
}

/// A ustar header block.
fn tar_header(name: &str, kind: u8, size: u64, link: &str) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar of `(name, type, data, link)` entries.
fn tar(entries: &[(&str, u8, &[u8], &str)]) -> Vec<u8> {
    let mut t = Vec::new();
    for (name, kind, data, link) in entries {
        t.extend(tar_header(name, *kind, data.len() as u64, link));
        t.extend_from_slice(data);
        t.resize(t.len().div_ceil(512) * 512, 0);
    }
    t.extend([0u8; 1024]);
    t
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// gzip with stored (uncompressed) deflate blocks.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        g.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        g.extend(len.to_le_bytes());
        g.extend((!len).to_le_bytes());
        g.extend_from_slice(c);
    }
    g.extend(crc32(data).to_le_bytes());
    g.extend((data.len() as u32).to_le_bytes());
    g
}

#[test]
fn unsafe_archives_are_refused_naming_the_entry() {
    let d = scratch("pack-unsafe");
    let cache = d.join("cache");
    fn file(name: &str) -> (&str, u8, &[u8], &str) {
        (name, b'0', b"{}\n", "")
    }
    let many: Vec<String> = (0..65).map(|i| format!("f{i}")).collect();
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "dotdot",
            tar(&[file("manifest.json"), file("../evil")]),
            "entry \"../evil\" has a \"..\" component, which points outside the artifact folder; refusing to unpack it".into(),
        ),
        (
            "absolute",
            tar(&[file("/tmp/evil")]),
            "entry \"/tmp/evil\" is an absolute path; refusing to unpack it".into(),
        ),
        (
            "symlink",
            tar(&[("model.json", b'2', b"", "/etc/passwd")]),
            "entry \"model.json\" is a symbolic link (to \"/etc/passwd\"); an artifact archive holds regular files only".into(),
        ),
        (
            "hardlink",
            tar(&[file("a"), ("model.json", b'1', b"", "a")]),
            "entry \"model.json\" is a hard link (to \"a\"); an artifact archive holds regular files only".into(),
        ),
        (
            "folder",
            tar(&[("sub/", b'5', b"", "")]),
            "entry \"sub/\" is a folder; an artifact archive holds regular files only".into(),
        ),
        (
            "nested",
            tar(&[file("sub/model.json")]),
            "entry \"sub/model.json\" is inside a folder; an artifact archive holds plain file names only".into(),
        ),
        (
            "device",
            tar(&[("null", b'3', b"", "")]),
            "entry \"null\" is a device file; an artifact archive holds regular files only".into(),
        ),
        (
            "duplicate",
            tar(&[file("manifest.json"), file("manifest.json")]),
            "entry \"manifest.json\" appears twice; refusing an archive whose content is ambiguous".into(),
        ),
        (
            "pax",
            tar(&[("PaxHeader/x", b'x', b"11 path=x\n", ""), file("x")]),
            "entry \"PaxHeader/x\" is a PAX extension header, which anneal archives never hold; repack the artifact with `anneal artifact pack`".into(),
        ),
        (
            "many",
            tar(&many.iter().map(|n| file(n)).collect::<Vec<_>>()),
            "holds more than 64 entries, far more than an artifact has; refusing to unpack it".into(),
        ),
    ];
    for (what, bytes, reason) in cases {
        let archive = d.join(format!("{what}.tar.gz"));
        fs::write(&archive, gzip(&bytes)).unwrap();
        let line = format!("error: archive {}: {reason}", archive.display());
        assert_error(&verify(&archive, &cache), 3, &line);
        assert_error(
            &run(&["artifact", "inspect", s(&archive)], &cache),
            3,
            &line,
        );
        // Loading goes through the same checks (here via re-packing).
        let out = d.join(format!("{what}-re.tar.gz"));
        assert_error(&pack(&archive, &out, &cache), 3, &line);
        assert!(!out.exists());
    }
    // A header claiming more than the size limit is refused before any
    // byte is read.
    let mut big = tar_header("big", b'0', 5 << 30, "");
    big.extend([0u8; 1024]);
    let archive = d.join("big.tar.gz");
    fs::write(&archive, gzip(&big)).unwrap();
    assert_error(
        &verify(&archive, &cache),
        3,
        &format!(
            "error: archive {}: entry \"big\" (5368709120 bytes) brings the unpacked size over the 4 GiB limit; refusing to unpack it",
            archive.display()
        ),
    );
    // Nothing was written anywhere: no `evil` beside the cache or the
    // archives, and no cached or half-unpacked folder.
    assert!(!d.join("evil").exists());
    assert!(!Path::new("/tmp/evil").exists());
    let left: Vec<String> = if cache.join("artifacts").exists() {
        names_in(&cache.join("artifacts"))
    } else {
        Vec::new()
    };
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_manifest_from_a_future_anneal_is_explained() {
    let r = runs();
    let d = scratch("pack-future");
    let cache = d.join("cache");
    let art = d.join("artifact");
    copy_dir(&r.a, &art);
    let supported = manifest(&art)["format_version"].as_u64().unwrap();
    let text = String::from_utf8(read(&art.join("manifest.json"))).unwrap();
    let future = text.replacen(
        &format!("\"format_version\": {supported}"),
        "\"format_version\": 99",
        1,
    );
    assert_ne!(future, text);
    fs::write(art.join("manifest.json"), &future).unwrap();
    let message = |p: &Path| {
        format!(
            "error: artifact {} has format_version 99, but this anneal reads up to {supported}; upgrade anneal",
            p.display()
        )
    };
    assert_error(&verify(&art, &cache), 3, &message(&art));
    assert_error(
        &run(&["artifact", "inspect", s(&art)], &cache),
        3,
        &message(&art),
    );
    // In an archive, the message names the archive.
    let archive = d.join("future.tar.gz");
    fs::write(
        &archive,
        gzip(&tar(&[("manifest.json", b'0', future.as_bytes(), "")])),
    )
    .unwrap();
    assert_error(&verify(&archive, &cache), 3, &message(&archive));
    assert_error(
        &pack(&archive, &d.join("re.tar.gz"), &cache),
        3,
        &message(&archive),
    );
}

#[test]
fn bad_paths_and_names_are_one_line_errors() {
    let r = runs();
    let d = scratch("pack-bad");
    let cache = d.join("cache");
    for name in ["model.zip", "model.tar", "model.gz", "model"] {
        let out = d.join(name);
        assert_error(
            &pack(&r.a, &out, &cache),
            2,
            &format!(
                "error: cannot write {}: unknown archive extension; name it .tar.gz, .tgz or .tar.zst",
                out.display()
            ),
        );
        assert!(!out.exists());
    }
    let inside = r.a.join("self.tar.gz");
    assert_error(
        &pack(&r.a, &inside, &cache),
        2,
        &format!(
            "error: cannot write {}: is inside the artifact folder {}; write the archive elsewhere",
            inside.display(),
            r.a.display()
        ),
    );
    assert!(!inside.exists());
    let missing = d.join("nope");
    assert_error(
        &verify(&missing, &cache),
        3,
        &format!(
            "error: {} is not an anneal artifact: no such folder or file",
            missing.display()
        ),
    );
    let notes = d.join("notes.txt");
    fs::write(&notes, "hello\n").unwrap();
    assert_error(
        &verify(&notes, &cache),
        3,
        &format!(
            "error: {} is not an anneal artifact: not a folder, and not a packed artifact (a gzip- or zstd-compressed tar: .tar.gz, .tgz or .tar.zst)",
            notes.display()
        ),
    );
    // A truncated archive: one line naming it, never a panic.
    let whole = d.join("whole.tar.gz");
    ok(&pack(&r.a, &whole, &cache));
    let bytes = read(&whole);
    let cut = d.join("cut.tar.gz");
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = verify(&cut, &cache);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.starts_with(&format!("error: archive {}: ", cut.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // A run folder given for its artifact.
    let o = verify(r.a.parent().unwrap(), &cache);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stdout(&o),
        format!(
            "manifest.json: missing; this looks like a run folder, whose artifact is {}\n",
            r.a.display()
        )
    );
    // An empty folder has no manifest.
    let empty = d.join("empty");
    fs::create_dir_all(&empty).unwrap();
    let o = verify(&empty, &cache);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stdout(&o), "manifest.json: missing\n");
}

/// Runs `cmd`, failing the test (rather than hanging it) when it is still
/// running after `secs` seconds.
fn output_within(cmd: &mut Command, secs: u64) -> Output {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the anneal binary runs");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {secs} s: it hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn predict_cmd(artifact: &Path, out: &Path, cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anneal"));
    cmd.args([
        "predict",
        "--artifact",
        s(artifact),
        "--input",
        "datasets/iris.csv",
        "--output",
        s(out),
    ])
    .current_dir(root())
    .env("ANNEAL_CACHE_DIR", cache);
    cmd
}

/// Rewrites `file` of the artifact folder `art` and forges the rest to
/// match (its manifest entry, the id, `MLmodel`): a different artifact
/// that is consistent with itself.
fn forge(art: &Path, file: &str, bytes: &[u8]) {
    use anneal_artifact::manifest::{FileEntry, Manifest};
    fs::write(art.join(file), bytes).unwrap();
    let mut m: Manifest = serde_json::from_slice(&read(&art.join("manifest.json"))).unwrap();
    m.files.insert(
        file.to_string(),
        FileEntry {
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        },
    );
    m.id = m.compute_id().unwrap();
    let text = anneal_core::json::to_canonical_string(&m, "manifest").unwrap();
    fs::write(art.join("manifest.json"), text).unwrap();
    let signature = serde_json::from_slice(&read(&art.join("signature.json"))).unwrap();
    fs::write(
        art.join("MLmodel"),
        anneal_artifact::mlmodel::render(&m, &signature),
    )
    .unwrap();
}

#[cfg(unix)]
#[test]
fn listed_files_that_are_not_regular_files_are_refused_before_reading() {
    let d = scratch("pack-not-regular");
    let cases: [(&str, &str, &str); 4] = [
        ("model.json", "fifo", "is a named pipe, not a regular file"),
        (
            "model.safetensors",
            "zero",
            "is a device, not a regular file",
        ),
        (
            "preprocess.json",
            "folder",
            "is a folder, not a regular file",
        ),
        (
            "manifest.json",
            "fifo",
            "is a named pipe, not a regular file",
        ),
    ];
    for (file, what, line) in cases {
        let art = d.join(format!("{what}-{file}"));
        copy_dir(&runs().a, &art);
        let path = art.join(file);
        fs::remove_file(&path).unwrap();
        match what {
            "fifo" => assert!(
                Command::new("mkfifo")
                    .arg(&path)
                    .status()
                    .unwrap()
                    .success()
            ),
            "zero" => std::os::unix::fs::symlink("/dev/zero", &path).unwrap(),
            _ => fs::create_dir(&path).unwrap(),
        }
        let o = output_within(
            &mut predict_cmd(&art, &d.join("out.csv"), &d.join("cache")),
            120,
        );
        assert_error(
            &o,
            3,
            &format!("error: artifact {}: {file}: {line}", art.display()),
        );
    }
}

#[test]
fn a_config_that_does_not_parse_is_an_error_not_the_defaults() {
    let d = scratch("pack-bad-config");
    let art = d.join("artifact");
    copy_dir(&runs().a, &art);
    forge(&art, "config.toml", b"[data\nthis is not toml\n");
    assert!(
        verify(&art, &d.join("cache")).status.success(),
        "forged consistently"
    );
    let o = output_within(
        &mut predict_cmd(&art, &d.join("out.csv"), &d.join("cache")),
        120,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("error: artifact {}: config.toml: ", art.display())),
        "{err}"
    );
    assert!(!d.join("out.csv").exists());
}

#[test]
fn a_cached_folder_that_differs_from_its_archive_is_unpacked_again() {
    let d = scratch("pack-cache-tampered");
    let cache = d.join("cache");
    let archive = d.join("a.tar.gz");
    ok(&pack(&runs().a, &archive, &cache));
    let id = manifest(&runs().a)["id"].as_str().unwrap().to_string();
    let said = format!("(artifact {})", &id[..12]);
    let out = d.join("out.csv");
    let first = ok(&output_within(
        &mut predict_cmd(&archive, &out, &cache),
        120,
    ));
    assert!(first.contains(&said), "{first}");

    // Replace the cached copy with another artifact, consistent with itself.
    let cached = cache.join("artifacts").join(sha256_hex(&read(&archive)));
    let config = read(&cached.join("config.toml"));
    forge(
        &cached,
        "config.toml",
        &[&config[..], b"# edited\n"].concat(),
    );
    let forged = manifest(&cached)["id"].as_str().unwrap().to_string();
    assert_ne!(forged, id);
    assert!(
        verify(&cached, &cache).status.success(),
        "forged consistently"
    );

    let again = ok(&output_within(
        &mut predict_cmd(&archive, &out, &cache),
        120,
    ));
    assert!(again.contains(&said), "the forged copy was used: {again}");
    assert_eq!(
        manifest(&cached)["id"].as_str().unwrap(),
        id,
        "unpacked afresh"
    );
    assert_eq!(read(&cached.join("config.toml")), config);
}

#[test]
fn an_archive_needs_a_cache_folder_of_the_users_own() {
    let d = scratch("pack-no-cache");
    let archive = d.join("a.tar.gz");
    ok(&pack(&runs().a, &archive, &d.join("cache")));
    let tmp = d.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let mut cmd = predict_cmd(&archive, &d.join("out.csv"), &d.join("unused"));
    cmd.env_remove("ANNEAL_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .env("TMPDIR", &tmp);
    let o = output_within(&mut cmd, 120);
    assert_error(
        &o,
        2,
        &format!(
            "error: cannot unpack {}: no artifact cache folder; set ANNEAL_CACHE_DIR (or XDG_CACHE_HOME or HOME)",
            archive.display()
        ),
    );
    assert_eq!(
        names_in(&tmp),
        Vec::<String>::new(),
        "nothing in the shared temporary folder"
    );

    // A relative XDG_CACHE_HOME is ignored (as the XDG spec says); HOME is used.
    let home = d.join("home");
    let mut cmd = predict_cmd(&archive, &d.join("out.csv"), &d.join("unused"));
    cmd.env_remove("ANNEAL_CACHE_DIR")
        .env("XDG_CACHE_HOME", "relative")
        .env("HOME", &home);
    ok(&output_within(&mut cmd, 120));
    let cache = home.join(".cache/anneal");
    assert!(
        cache
            .join("artifacts")
            .join(sha256_hex(&read(&archive)))
            .is_dir()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for dir in [home.join(".cache"), cache.clone(), cache.join("artifacts")] {
            let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", dir.display());
        }
    }
}
