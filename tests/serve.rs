//! `anneal serve`: the real binary on a free port, spoken to over plain
//! HTTP/1.1 from std::net (a tiny client below). Predictions over HTTP must
//! equal `anneal predict` on the same rows; bad requests get one exact
//! message; SIGTERM finishes the request in flight and exits 0.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Artifacts, trained once per test binary.

fn trained(name: &str) -> PathBuf {
    let out = scratch(&format!("serve-{name}")).join("run");
    train(name, &out);
    out.join("artifact")
}

fn titanic() -> &'static Path {
    static A: OnceLock<PathBuf> = OnceLock::new();
    A.get_or_init(|| trained("titanic"))
}

fn diabetes() -> &'static Path {
    static A: OnceLock<PathBuf> = OnceLock::new();
    A.get_or_init(|| trained("diabetes"))
}

// ---------------------------------------------------------------------------
// The server process, killed whatever happens to the test.

struct Server {
    child: Child,
    addr: String,
    name: String,
    id: String,
    stderr: Arc<Mutex<String>>,
    _stdout: Option<BufReader<ChildStdout>>,
}

impl Server {
    fn start(artifact: &Path, extra: &[&str]) -> Server {
        Server::start_env(artifact, extra, &[])
    }

    fn start_env(artifact: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_anneal"))
            .args(["serve", "--artifact", artifact.to_str().unwrap()])
            .args(["--addr", "127.0.0.1:0"])
            .args(extra)
            .env_remove("ANNEAL_SERVE_TOKEN")
            .envs(env.iter().copied())
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("anneal serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send((line, reader));
        });
        let mut server = Server {
            child,
            addr: String::new(),
            name: String::new(),
            id: String::new(),
            stderr,
            _stdout: None,
        };
        let (line, reader) = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(x) => x,
            Err(_) => panic!(
                "anneal serve printed nothing in 120 s; stderr: {}",
                server.stderr()
            ),
        };
        server._stdout = Some(reader);
        // listening on http://127.0.0.1:PORT (model NAME, id ID)
        let rest = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                panic!(
                    "unexpected first line {line:?}; stderr: {}",
                    server.stderr()
                )
            });
        let (addr, rest) = rest.split_once(" (model ").unwrap();
        let (name, rest) = rest.split_once(", id ").unwrap();
        server.addr = addr.to_string();
        server.name = name.to_string();
        server.id = rest.trim_end().trim_end_matches(')').to_string();
        assert!(line.ends_with(")\n"), "{line:?}");
        server
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The server's stderr once it holds `needle` (or after 30 s): a
    /// thread copies the pipe, so a line the server has written may reach
    /// the copy a moment later, even after the process has exited.
    fn stderr_with(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.stderr();
            if text.contains(needle) || start.elapsed() > Duration::from_secs(30) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                start.elapsed() < limit,
                "the server did not exit within {limit:?}; stderr: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn get(&self, path: &str) -> Response {
        http(&self.addr, "GET", path, None, b"")
    }

    fn post(&self, path: &str, body: &Value) -> Response {
        http(
            &self.addr,
            "POST",
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        )
    }

    fn infer_path(&self) -> String {
        format!("/v2/models/{}/infer", self.name)
    }

    fn metadata(&self) -> Value {
        let r = self.get(&format!("/v2/models/{}", self.name));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 client.

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `error` message of a JSON error answer.
    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.text()))
            .to_string()
    }
}

fn request_bytes(
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
    close: bool,
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if method == "POST" || !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn read_response(r: &mut impl BufRead) -> std::io::Result<Response> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = find("content-length") {
        body.resize(len.parse().unwrap(), 0);
        r.read_exact(&mut body)?;
    } else if find("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// One request on a fresh connection.
fn http(addr: &str, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Response {
    let mut s = connect(addr);
    s.write_all(&request_bytes(method, path, content_type, body, true))
        .unwrap();
    read_response(&mut BufReader::new(s)).expect("a response")
}

/// A keep-alive connection.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            reader: BufReader::new(connect(addr)),
        }
    }

    fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<Response> {
        let bytes = request_bytes("POST", path, Some("application/json"), body, false);
        self.reader.get_mut().write_all(&bytes)?;
        read_response(&mut self.reader)
    }
}

// ---------------------------------------------------------------------------
// Rows: the dataset without its target, plus a few awkward ones, as CSV
// (for `anneal predict`) and as JSON cells.

struct Rows {
    columns: Vec<String>,
    /// `None` is an empty CSV cell (missing).
    cells: Vec<Vec<Option<String>>>,
}

impl Rows {
    fn from_dataset(file: &str, target: &str) -> Rows {
        let text = std::fs::read_to_string(root().join("datasets").join(file)).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let keep: Vec<usize> = (0..header.len()).filter(|&i| header[i] != target).collect();
        let columns = keep.iter().map(|&i| header[i].to_string()).collect();
        let cells = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                assert!(!l.contains('"'), "the test reads plain CSV only");
                keep.iter()
                    .map(|&i| (!f[i].is_empty()).then(|| f[i].to_string()))
                    .collect()
            })
            .collect();
        Rows { columns, cells }
    }

    fn csv(&self) -> String {
        let mut s = self.columns.join(",");
        s.push('\n');
        for row in &self.cells {
            let r: Vec<&str> = row.iter().map(|c| c.as_deref().unwrap_or("")).collect();
            s.push_str(&r.join(","));
            s.push('\n');
        }
        s
    }

    /// The JSON value of a cell of `column`: a number for FP64 inputs, the
    /// text otherwise, null when missing.
    fn value(cell: &Option<String>, numeric: bool) -> Value {
        match cell {
            None => Value::Null,
            Some(t) if numeric => json!(t.parse::<f64>().unwrap()),
            Some(t) => json!(t),
        }
    }

    fn numeric_columns(meta: &Value) -> Vec<String> {
        meta["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["datatype"] == "FP64")
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn v2(&self, meta: &Value) -> Value {
        let numeric = Rows::numeric_columns(meta);
        let inputs: Vec<Value> = self
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let is_num = numeric.contains(c);
                json!({
                    "name": c,
                    "shape": [self.cells.len(), 1],
                    "datatype": if is_num { "FP64" } else { "BYTES" },
                    "data": self.cells.iter().map(|r| Rows::value(&r[j], is_num)).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({ "id": "req-1", "inputs": inputs })
    }

    fn split(&self, meta: &Value) -> Value {
        let numeric = Rows::numeric_columns(meta);
        let data: Vec<Value> = self
            .cells
            .iter()
            .map(|r| {
                Value::Array(
                    r.iter()
                        .zip(&self.columns)
                        .map(|(c, name)| Rows::value(c, numeric.contains(name)))
                        .collect(),
                )
            })
            .collect();
        json!({ "dataframe_split": { "columns": self.columns, "data": data } })
    }

    fn records(&self, meta: &Value) -> Value {
        let numeric = Rows::numeric_columns(meta);
        let records: Vec<Value> = self
            .cells
            .iter()
            .map(|r| {
                let mut m = serde_json::Map::new();
                for (c, name) in r.iter().zip(&self.columns) {
                    m.insert(name.clone(), Rows::value(c, numeric.contains(name)));
                }
                Value::Object(m)
            })
            .collect();
        json!({ "dataframe_records": records })
    }
}

/// `anneal predict` on `rows`: column name -> values (as text).
fn predict_csv(artifact: &Path, rows: &Rows, dir: &Path) -> Vec<(String, Vec<String>)> {
    let input = dir.join("rows.csv");
    let output = dir.join("preds.csv");
    std::fs::write(&input, rows.csv()).unwrap();
    let o = anneal(&[
        "predict",
        "--artifact",
        artifact.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "predict failed: {}", stderr(&o));
    let text = std::fs::read_to_string(&output).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let mut cols: Vec<(String, Vec<String>)> =
        header.into_iter().map(|h| (h, Vec::new())).collect();
    for l in lines {
        for (j, v) in l.split(',').enumerate() {
            cols[j].1.push(v.to_string());
        }
    }
    cols
}

/// Every number of a JSON text, in order, parsed with Rust's correctly
/// rounded `f64` parser. (serde_json's default float parsing is best-effort:
/// a 17-digit number can come back one unit in the last place off, so
/// exact comparisons read the text themselves.)
fn json_numbers(text: &str) -> Vec<f64> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < b.len() && matches!(b[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                out.push(text[start..i].parse().unwrap());
            }
            _ => i += 1,
        }
    }
    out
}

fn parse_all(values: &[String]) -> Vec<f64> {
    values.iter().map(|v| v.parse().unwrap()).collect()
}

fn column<'a>(cols: &'a [(String, Vec<String>)], name: &str) -> &'a [String] {
    &cols
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no column {name} in the predict output"))
        .1
}

/// The numbers of an answer equal, bit for bit, those `anneal predict`
/// wrote.
fn assert_same_numbers(what: &str, got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{what}: count");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            g.to_bits() == e.to_bits(),
            "{what}, number {i}: {g} over HTTP, {e} from predict"
        );
    }
}

fn assert_labels(what: &str, got: &[Value], expected: &[String]) {
    assert_eq!(got.len(), expected.len(), "{what}: row count");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        let g = match g {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(&g, e, "{what}, row {}", i + 1);
    }
}

/// The value of one sample line of a Prometheus exposition.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .map_or(0.0, |v| v.parse().unwrap())
}

// ---------------------------------------------------------------------------

#[test]
fn health_metadata_and_routes() {
    let s = Server::start(titanic(), &[]);
    let manifest = read_json(&titanic().join("manifest.json"));
    assert_eq!(s.name, "titanic");
    assert_eq!(s.id, manifest["id"].as_str().unwrap());

    for path in ["/v2/health/live", "/v2/health/ready", "/ping"] {
        assert_eq!(s.get(path).status, 200, "{path}");
    }
    assert_eq!(s.get("/v2/health/live").json(), json!({"live": true}));
    assert_eq!(s.get("/v2/health/ready").json(), json!({"ready": true}));
    let server = s.get("/v2").json();
    assert_eq!(server["name"], "anneal");
    assert!(server["version"].is_string());

    let ready = s.get("/v2/models/titanic/ready");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json(), json!({"name": "titanic", "ready": true}));

    let meta = s.metadata();
    assert_eq!(meta["name"], "titanic");
    assert_eq!(meta["platform"], "anneal");
    assert_eq!(meta["versions"], json!([s.id]));
    let inputs: Vec<(String, String)> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["datatype"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = |name: &str, dt: &str| {
        assert!(
            inputs.contains(&(name.to_string(), dt.to_string())),
            "{name} {dt} not in {inputs:?}"
        )
    };
    expect("pclass", "BYTES");
    expect("sex", "BYTES");
    expect("age", "FP64");
    expect("sibsp", "FP64");
    expect("parch", "FP64");
    assert_eq!(inputs.len(), 5, "{inputs:?}");
    // The inputs are exactly signature.json's.
    let signature = read_json(&titanic().join("signature.json"));
    let sig_names: Vec<&str> = signature["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let names: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, sig_names);
    let outputs: Vec<&str> = meta["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, ["prediction", "proba_died", "proba_survived"]);
    assert_eq!(meta["outputs"][0]["datatype"], "BYTES");
    assert_eq!(meta["outputs"][1]["datatype"], "FP64");

    // The version path takes the id or the semver.
    assert_eq!(
        s.get(&format!("/v2/models/titanic/versions/{}", s.id))
            .status,
        200
    );
    assert_eq!(s.get("/v2/models/titanic/versions/1.0.0").status, 200);
    let r = s.get("/v2/models/titanic/versions/9.9.9");
    assert_eq!(r.status, 404);

    for path in ["/v2/models/nope", "/v2/models/nope/ready"] {
        let r = s.get(path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(
            r.error(),
            "no model \"nope\"; this server serves \"titanic\""
        );
    }
    let r = s.post("/v2/models/nope/infer", &json!({"inputs": []}));
    assert_eq!(r.status, 404);
    assert_eq!(
        r.error(),
        "no model \"nope\"; this server serves \"titanic\""
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "errors are JSON"
    );

    let r = s.get("/nowhere");
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "no route GET /nowhere");

    let r = s.get("/invocations");
    assert_eq!(r.status, 405);
    assert_eq!(r.error(), "method GET is not allowed on /invocations");
    assert_eq!(r.header("allow"), Some("POST"));
    let r = s.post("/ping", &json!({}));
    assert_eq!(r.status, 405);
    let r = s.get("/v2/models/titanic/infer");
    assert_eq!(r.status, 405);
}

#[test]
fn classification_matches_predict() {
    let s = Server::start(titanic(), &[]);
    let meta = s.metadata();
    let mut rows = Rows::from_dataset("titanic.csv", "survived");
    assert_eq!(rows.columns, ["pclass", "sex", "age", "sibsp", "parch"]);
    assert!(
        rows.cells.iter().any(|r| r[2].is_none()),
        "some ages are missing"
    );
    // Unseen categories go to the unknown slot; missing categories to the
    // missing one.
    rows.cells.push(
        ["4th", "other", "40", "0", "0"]
            .iter()
            .map(|c| Some(c.to_string()))
            .collect(),
    );
    rows.cells
        .push(vec![None, None, None, Some("1".into()), Some("2".into())]);
    let n = rows.cells.len();
    let dir = scratch("serve-classify");
    let expected = predict_csv(titanic(), &rows, &dir);

    // KServe v2.
    let r = s.post(&s.infer_path(), &rows.v2(&meta));
    assert_eq!(r.status, 200, "{}", r.text());
    let v2 = r.json();
    assert_eq!(v2["model_name"], "titanic");
    assert_eq!(v2["model_version"], s.id.as_str());
    assert_eq!(v2["id"], "req-1");
    let outputs = v2["outputs"].as_array().unwrap();
    let names: Vec<&str> = outputs
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prediction", "proba_died", "proba_survived"]);
    for o in outputs {
        assert_eq!(o["shape"], json!([n]));
        let name = o["name"].as_str().unwrap();
        let data = o["data"].as_array().unwrap();
        assert_eq!(data.len(), n);
        if name == "prediction" {
            assert_eq!(o["datatype"], "BYTES");
            assert_labels("v2 prediction", data, column(&expected, name));
        } else {
            assert_eq!(o["datatype"], "FP64");
        }
    }
    // The numbers in order: each output's shape, then its data.
    let died = parse_all(column(&expected, "proba_died"));
    let survived = parse_all(column(&expected, "proba_survived"));
    let mut want = vec![n as f64, n as f64];
    want.extend(&died);
    want.push(n as f64);
    want.extend(&survived);
    assert_same_numbers("v2", &json_numbers(&r.text()), &want);

    // Only the outputs asked for.
    let mut body = rows.v2(&meta);
    body["outputs"] = json!([{"name": "proba_survived"}]);
    let r = s.post(&s.infer_path(), &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let only = r.json();
    assert_eq!(only["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(only["outputs"][0]["name"], "proba_survived");

    // MLflow, both formats, with a column the model does not use.
    let mut with_extra = Rows {
        columns: rows.columns.clone(),
        cells: rows.cells.clone(),
    };
    with_extra.columns.push("ticket".into());
    for r in &mut with_extra.cells {
        r.push(Some("A/5".into()));
    }
    for (what, body) in [
        ("dataframe_split", with_extra.split(&meta)),
        ("dataframe_records", with_extra.records(&meta)),
    ] {
        let r = s.post("/invocations", &body);
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        let preds = r.json()["predictions"].as_array().unwrap().clone();
        assert_eq!(preds.len(), n);
        let pick = |key: &str| -> Vec<Value> { preds.iter().map(|p| p[key].clone()).collect() };
        assert_eq!(
            preds[0].as_object().unwrap().keys().count(),
            3,
            "{}",
            preds[0]
        );
        assert_labels(what, &pick("prediction"), column(&expected, "prediction"));
        // Row by row: proba_died, proba_survived (the labels are text).
        let want: Vec<f64> = died
            .iter()
            .zip(&survived)
            .flat_map(|(d, s)| [*d, *s])
            .collect();
        assert_same_numbers(what, &json_numbers(&r.text()), &want);
    }
}

#[test]
fn regression_matches_predict() {
    let s = Server::start(diabetes(), &[]);
    let meta = s.metadata();
    assert_eq!(
        meta["outputs"],
        json!([{"name": "prediction", "datatype": "FP64", "shape": [-1]}])
    );
    let rows = Rows::from_dataset("diabetes.csv", "disease_progression");
    let n = rows.cells.len();
    let dir = scratch("serve-regress");
    let expected = predict_csv(diabetes(), &rows, &dir);
    let expected = parse_all(column(&expected, "prediction"));

    let r = s.post(&s.infer_path(), &rows.v2(&meta));
    assert_eq!(r.status, 200, "{}", r.text());
    let v2 = r.json();
    let outputs = v2["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["name"], "prediction");
    assert_eq!(outputs[0]["datatype"], "FP64");
    assert_eq!(outputs[0]["shape"], json!([n]));
    assert_eq!(outputs[0]["data"].as_array().unwrap().len(), n);
    let mut want = vec![n as f64];
    want.extend(&expected);
    assert_same_numbers("v2", &json_numbers(&r.text()), &want);

    for (what, body) in [
        ("dataframe_split", rows.split(&meta)),
        ("dataframe_records", rows.records(&meta)),
    ] {
        let r = s.post("/invocations", &body);
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        // A regression answers one number per row.
        assert_eq!(r.json()["predictions"].as_array().unwrap().len(), n);
        assert_same_numbers(what, &json_numbers(&r.text()), &expected);
    }
}

#[test]
fn validation_errors() {
    let s = Server::start(titanic(), &["--max-rows", "50"]);
    let meta = s.metadata();
    let order: Vec<String> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    let first = order[0].clone();
    let list = order.join(", ");
    let infer = s.infer_path();

    // A valid three-row v2 request, edited below.
    let tensor = |name: &str, data: Value| {
        let dt = if ["age", "sibsp", "parch"].contains(&name) {
            "FP64"
        } else {
            "BYTES"
        };
        let n = data.as_array().unwrap().len();
        json!({"name": name, "shape": [n], "datatype": dt, "data": data})
    };
    let good = |skip: &str| -> Vec<Value> {
        [
            ("pclass", json!(["1st", "2nd", "3rd"])),
            ("sex", json!(["female", "male", "male"])),
            ("age", json!([29.0, null, 3])),
            ("sibsp", json!([0, 1, 0])),
            ("parch", json!([0, 0, 2])),
        ]
        .into_iter()
        .filter(|(n, _)| *n != skip)
        .map(|(n, d)| tensor(n, d))
        .collect()
    };
    let ok = s.post(&infer, &json!({"inputs": good("")}));
    assert_eq!(ok.status, 200, "{}", ok.text());

    let record =
        |age: Value| json!({"pclass": "1st", "sex": "male", "age": age, "sibsp": 0, "parch": 0});
    let records = |ages: Vec<Value>| json!({"dataframe_records": ages.into_iter().map(record).collect::<Vec<_>>()});

    let mut short_age = good("age");
    short_age.push(tensor("age", json!([29.0, 30.0])));
    let mut bytes_age = good("age");
    bytes_age
        .push(json!({"name": "age", "shape": [3], "datatype": "BYTES", "data": ["1", "2", "3"]}));
    let mut odd_dt = good("age");
    odd_dt.push(json!({"name": "age", "shape": [3], "datatype": "FLOAT", "data": [1, 2, 3]}));
    let mut nan_v2 = good("age");
    nan_v2.push(tensor("age", json!([1.0, "NaN", 2.0])));
    let mut bad_shape = good("age");
    bad_shape.push(
        json!({"name": "age", "shape": [3, 2], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}),
    );

    let empty_inputs: Vec<Value> = ["pclass", "sex", "age", "sibsp", "parch"]
        .iter()
        .map(|n| tensor(n, json!([])))
        .collect();
    let cases: Vec<(&str, Value, String)> = vec![
        (
            "missing column (v2)",
            json!({"inputs": good("age")}),
            format!("missing required column \"age\" (the model's inputs are: {list})"),
        ),
        (
            "missing column (split)",
            json!({"dataframe_split": {"columns": ["pclass", "sex", "age", "sibsp"], "data": [["1st", "male", 3, 0]]}}),
            format!("missing required column \"parch\" (the model's inputs are: {list})"),
        ),
        (
            "missing column (records)",
            json!({"dataframe_records": [{"pclass": "1st", "sex": "male", "age": 3, "parch": 0}]}),
            format!("missing required column \"sibsp\" (the model's inputs are: {list})"),
        ),
        (
            "column length",
            json!({"inputs": short_age}),
            format!("column \"age\" has 2 rows, but column \"{first}\" has 3"),
        ),
        (
            "row length (split)",
            json!({"dataframe_split": {"columns": ["pclass", "sex", "age", "sibsp", "parch"], "data": [["1st", "male", 3, 0, 0], ["1st", "male", 3, 0]]}}),
            "row 2 has 4 values, but \"columns\" names 5 columns".to_string(),
        ),
        (
            "not a number",
            records(vec![json!(1), json!(2), json!("old")]),
            "column \"age\", row 3: \"old\" is not a number".to_string(),
        ),
        (
            "NaN",
            records(vec![json!("NaN")]),
            "column \"age\", row 1: \"NaN\" is not a finite number".to_string(),
        ),
        (
            "infinity",
            records(vec![json!(1), json!("-Infinity")]),
            "column \"age\", row 2: \"-Infinity\" is not a finite number".to_string(),
        ),
        (
            "NaN (v2)",
            json!({"inputs": nan_v2}),
            "column \"age\", row 2: \"NaN\" is not a finite number".to_string(),
        ),
        (
            "wrong datatype",
            json!({"inputs": bytes_age}),
            "input \"age\" has datatype BYTES, but the column is numeric: use FP64".to_string(),
        ),
        (
            "unknown datatype",
            json!({"inputs": odd_dt}),
            "input \"age\": \"FLOAT\" is not a v2 datatype (BOOL, INT8..INT64, UINT8..UINT64, FP16, FP32, FP64, BYTES)".to_string(),
        ),
        (
            "shape",
            json!({"inputs": bad_shape}),
            "input \"age\" has shape [3, 2]: expected [rows] or [rows, 1]".to_string(),
        ),
        (
            "no inputs",
            json!({"inputs": []}),
            "the request has no inputs".to_string(),
        ),
        (
            "no rows (v2)",
            json!({ "inputs": empty_inputs }),
            "the request has no rows".to_string(),
        ),
        (
            "no rows (records)",
            json!({"dataframe_records": []}),
            "the request has no rows".to_string(),
        ),
        (
            "too many rows",
            records(vec![json!(1); 51]),
            "the request has 51 rows, more than the limit of 50 (--max-rows)".to_string(),
        ),
        (
            "neither format",
            json!({"instances": [{"age": 1}]}),
            "the request must hold \"dataframe_split\" or \"dataframe_records\" (found: \"instances\")".to_string(),
        ),
    ];
    let mut failures = 0;
    for (what, body, message) in &cases {
        let path = if body.get("inputs").is_some() {
            infer.as_str()
        } else {
            "/invocations"
        };
        let r = s.post(path, body);
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert_eq!(&r.error(), message, "{what}");
        failures += 1;
    }

    // Bodies that are not JSON objects.
    let raw = |path: &str, body: &str| {
        http(
            &s.addr,
            "POST",
            path,
            Some("application/json"),
            body.as_bytes(),
        )
    };
    for (path, body, message) in [
        (
            "/invocations",
            "",
            "the request body is empty: expected a JSON object",
        ),
        (
            infer.as_str(),
            "",
            "the request body is empty: expected a JSON object",
        ),
        (
            "/invocations",
            "{\"dataframe_records\": [",
            "malformed JSON: EOF while parsing a list at line 1 column 23",
        ),
        (
            infer.as_str(),
            "{\"inputs\": [{\"name\": \"age\", \"data\": [NaN]}]}",
            "malformed JSON: expected value at line 1 column 38",
        ),
        (
            "/invocations",
            "[1, 2]",
            "the request body must be a JSON object, not an array",
        ),
    ] {
        let r = raw(path, body);
        assert_eq!(r.status, 400, "{body:?}: {}", r.text());
        assert_eq!(r.error(), message, "{body:?}");
        failures += 1;
    }

    // Neither JSON nor CSV, or no Content-Type: a cross-origin "simple"
    // POST from a web page never reaches the model.
    for (path, ct, message) in [
        (
            "/invocations",
            Some("text/plain"),
            "unsupported Content-Type \"text/plain\": send application/json or text/csv",
        ),
        (
            infer.as_str(),
            Some("text/plain;charset=UTF-8"),
            "unsupported Content-Type \"text/plain;charset=UTF-8\": send application/json",
        ),
        (
            infer.as_str(),
            Some("text/csv"),
            "unsupported Content-Type \"text/csv\": send application/json",
        ),
        (
            infer.as_str(),
            None,
            "the request has no Content-Type: send application/json",
        ),
    ] {
        let r = http(
            &s.addr,
            "POST",
            path,
            ct,
            json!({"inputs": good("")}).to_string().as_bytes(),
        );
        assert_eq!(r.status, 415, "{ct:?}: {}", r.text());
        assert_eq!(r.error(), message);
    }
    // CSV on /invocations, as MLflow's scoring server takes it.
    let csv = "pclass,sex,age,sibsp,parch\n1st,female,29,0,0\n3rd,male,,1,0\n";
    let r = http(
        &s.addr,
        "POST",
        "/invocations",
        Some("text/csv"),
        csv.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["predictions"].as_array().unwrap().len(), 2);
    let r = http(
        &s.addr,
        "POST",
        "/invocations",
        Some("text/csv"),
        b"age\n1\n",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error(),
        format!(
            "missing required column {:?} (the model's inputs are: {list})",
            order.iter().find(|c| *c != "age").unwrap()
        )
    );
    failures += 1;

    let metrics = s.get("/metrics").text();
    assert_eq!(
        sample(&metrics, "anneal_validation_failures_total"),
        failures as f64,
        "{metrics}"
    );
    assert!(!s.stderr().contains("panicked"), "{}", s.stderr());
}

#[test]
fn body_limit_is_413() {
    let s = Server::start(titanic(), &["--max-body-bytes", "4096"]);
    let big = json!({"dataframe_records": vec![json!({"pclass": "1st", "sex": "male", "age": 30, "sibsp": 0, "parch": 0}); 200]});
    assert!(big.to_string().len() > 4096);
    for path in ["/invocations", "/v2/models/titanic/infer"] {
        let r = s.post(path, &big);
        assert_eq!(r.status, 413, "{path}: {}", r.text());
        assert_eq!(
            r.error(),
            "the request body is larger than the limit (--max-body-bytes)"
        );
    }
    // A declared length over the limit is refused at once, before the
    // body is sent (it must not hold a queue place meanwhile).
    let mut s2 = connect(&s.addr);
    s2.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s2.write_all(
        b"POST /invocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut BufReader::new(s2)).expect("413 before the body");
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.header("connection"), Some("close"));
    // Under the limit is fine.
    let small = json!({"dataframe_records": vec![json!({"pclass": "1st", "sex": "male", "age": 30, "sibsp": 0, "parch": 0}); 5]});
    let r = s.post("/invocations", &small);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn metrics_count_requests() {
    let s = Server::start(titanic(), &[]);
    let before = s.get("/metrics");
    assert_eq!(before.status, 200);
    assert!(
        before
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let before = before.text();
    assert!(
        before.contains(&format!(
            "anneal_model_info{{name=\"titanic\",id=\"{}\"}} 1",
            s.id
        )),
        "{before}"
    );
    assert_eq!(sample(&before, "anneal_rows_predicted_total"), 0.0);
    assert_eq!(sample(&before, "anneal_validation_failures_total"), 0.0);

    let record = json!({"pclass": "3rd", "sex": "male", "age": 22, "sibsp": 1, "parch": 0});
    let ok = s.post(
        "/invocations",
        &json!({"dataframe_records": vec![record.clone(); 7]}),
    );
    assert_eq!(ok.status, 200);
    let bad = s.post(
        "/invocations",
        &json!({"dataframe_records": [{"pclass": "3rd"}]}),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(s.get("/ping").status, 200);
    assert_eq!(s.get("/nowhere").status, 404);

    let after = s.get("/metrics").text();
    let route = |r: &str, status: u16| {
        sample(
            &after,
            &format!("anneal_requests_total{{route=\"{r}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(route("/invocations", 200), 1.0, "{after}");
    assert_eq!(route("/invocations", 400), 1.0, "{after}");
    assert_eq!(route("/ping", 200), 1.0, "{after}");
    assert_eq!(route("unmatched", 404), 1.0, "{after}");
    assert_eq!(route("/metrics", 200), 1.0, "the first scrape is counted");
    assert_eq!(sample(&after, "anneal_rows_predicted_total"), 7.0);
    assert_eq!(sample(&after, "anneal_validation_failures_total"), 1.0);
    assert_eq!(
        sample(
            &after,
            "anneal_request_duration_seconds_count{route=\"/invocations\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(
            &after,
            "anneal_request_duration_seconds_bucket{route=\"/invocations\",le=\"+Inf\"}"
        ),
        2.0
    );
    assert!(
        sample(
            &after,
            "anneal_request_duration_seconds_sum{route=\"/invocations\"}"
        ) > 0.0
    );
    for t in [
        "# TYPE anneal_requests_total counter",
        "# TYPE anneal_request_duration_seconds histogram",
        "# TYPE anneal_validation_failures_total counter",
        "# TYPE anneal_rows_predicted_total counter",
        "# TYPE anneal_model_info gauge",
    ] {
        assert!(after.contains(t), "{t} in {after}");
    }
}

#[test]
fn sigterm_finishes_the_request_in_flight() {
    let mut s = Server::start(titanic(), &[]);
    let record = json!({"pclass": "2nd", "sex": "female", "age": 31, "sibsp": 0, "parch": 1});
    let body = json!({"dataframe_records": vec![record; 500]}).to_string();
    let bytes = request_bytes(
        "POST",
        "/invocations",
        Some("application/json"),
        body.as_bytes(),
        false,
    );
    let split = bytes.len() - body.len() / 2;
    let mut stream = connect(&s.addr);
    // Headers and half the body, then the signal, then the rest: the
    // request is in flight when SIGTERM arrives.
    stream.write_all(&bytes[..split]).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    s.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(&bytes[split..]).unwrap();
    let r = read_response(&mut BufReader::new(stream)).expect("the request in flight is answered");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["predictions"].as_array().unwrap().len(), 500);
    let status = s.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "stderr: {}", s.stderr());
    assert!(
        s.stderr_with("SIGTERM received")
            .contains("SIGTERM received"),
        "stderr: {}",
        s.stderr()
    );
    assert!(
        TcpStream::connect(&s.addr).is_err(),
        "no new connections after shutdown"
    );
}

#[test]
fn sigint_and_sigterm_after_requests_exit_0() {
    for signal in ["INT", "TERM"] {
        let mut s = Server::start(diabetes(), &[]);
        // An idle keep-alive connection does not hold the shutdown up.
        let mut idle = Conn::new(&s.addr);
        let body = json!({"dataframe_split": {
            "columns": ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"],
            "data": [[59, 2, 32.1, 101.0, 157, 93.2, 38.0, 4.0, 4.8598, 87]]}})
        .to_string();
        let r = idle.post("/invocations", body.as_bytes()).unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        s.signal(signal);
        let status = s.wait_exit(Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "SIG{signal}: {}", s.stderr());
        let needle = format!("SIG{signal} received");
        assert!(s.stderr_with(&needle).contains(&needle), "{}", s.stderr());
    }
}

#[test]
fn load_test() {
    const THREADS: usize = 4;
    const REQUESTS: usize = 500;
    let s = Server::start(titanic(), &[]);
    let addr = s.addr.clone();
    let infer = s.infer_path();
    let one = json!({"inputs": [
        {"name": "pclass", "shape": [1], "datatype": "BYTES", "data": ["3rd"]},
        {"name": "sex", "shape": [1], "datatype": "BYTES", "data": ["male"]},
        {"name": "age", "shape": [1], "datatype": "FP64", "data": [22.0]},
        {"name": "sibsp", "shape": [1], "datatype": "FP64", "data": [1]},
        {"name": "parch", "shape": [1], "datatype": "FP64", "data": [0]},
    ]})
    .to_string();
    let records: Vec<Value> = (0..100)
        .map(|i| {
            let pclass = ["1st", "2nd", "3rd"][i % 3];
            let sex = ["male", "female"][i % 2];
            let age = if i % 7 == 0 {
                Value::Null
            } else {
                json!(i as f64 * 0.8)
            };
            json!({"pclass": pclass, "sex": sex, "age": age, "sibsp": i % 3, "parch": i % 2})
        })
        .collect();
    let hundred = json!({ "dataframe_records": records }).to_string();
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (addr, infer, one, hundred) =
                (addr.clone(), infer.clone(), one.clone(), hundred.clone());
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(REQUESTS);
                let mut errors = Vec::new();
                let mut rows = 0usize;
                let mut conn = Conn::new(&addr);
                for i in 0..REQUESTS {
                    // Every 10th request: 100 rows over /invocations; every
                    // 50th on a fresh connection.
                    let big = i % 10 == 9;
                    let (path, body) = if big {
                        ("/invocations", hundred.as_bytes())
                    } else {
                        (infer.as_str(), one.as_bytes())
                    };
                    let t0 = Instant::now();
                    let r = if i % 50 == 25 {
                        Ok(http(&addr, "POST", path, Some("application/json"), body))
                    } else {
                        conn.post(path, body)
                    };
                    latencies.push(t0.elapsed());
                    match r {
                        Ok(r) if r.status == 200 => rows += if big { 100 } else { 1 },
                        Ok(r) => errors.push(format!(
                            "thread {t}, request {i}: {} {}",
                            r.status,
                            r.text()
                        )),
                        Err(e) => {
                            errors.push(format!("thread {t}, request {i}: {e}"));
                            conn = Conn::new(&addr);
                        }
                    }
                }
                (latencies, errors, rows)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    let mut rows = 0;
    for h in handles {
        let (l, e, r) = h.join().unwrap();
        latencies.extend(l);
        errors.extend(e);
        rows += r;
    }
    let wall = start.elapsed();
    assert!(
        errors.is_empty(),
        "{} errors: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    latencies.sort();
    let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let total = THREADS * REQUESTS;
    eprintln!(
        "serve load test: {total} requests ({THREADS} threads; 90% 1-row v2, 10% 100-row /invocations), \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.0} requests/s, {:.0} rows/s",
        q(0.50).as_secs_f64() * 1e3,
        q(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
        total as f64 / wall.as_secs_f64(),
        rows as f64 / wall.as_secs_f64(),
    );
    let expected_rows = THREADS * (REQUESTS / 10 * 100 + REQUESTS - REQUESTS / 10);
    assert_eq!(rows, expected_rows);
    let metrics = s.get("/metrics").text();
    assert_eq!(
        sample(&metrics, "anneal_rows_predicted_total"),
        expected_rows as f64
    );
    assert_eq!(
        sample(
            &metrics,
            "anneal_requests_total{route=\"/v2/models/{name}/infer\",status=\"200\"}"
        ),
        (THREADS * (REQUESTS - REQUESTS / 10)) as f64
    );
}

#[test]
fn startup_errors() {
    let artifact = titanic().to_str().unwrap();
    let o = anneal(&["serve", "--artifact", artifact, "--addr", "notanaddress"]);
    assert_error(&o, 2, "error: --addr notanaddress: invalid socket address");
    let o = anneal(&[
        "serve",
        "--artifact",
        artifact,
        "--addr",
        "127.0.0.1:0",
        "--max-rows",
        "0",
    ]);
    assert_error(&o, 2, "error: --max-rows must be at least 1");
    for (flag, value, message) in [
        (
            "--header-timeout",
            "0",
            "error: --header-timeout must be more than 0 and at most 86400 seconds",
        ),
        (
            "--idle-timeout",
            "NaN",
            "error: --idle-timeout must be more than 0 and at most 86400 seconds",
        ),
        (
            "--max-connections",
            "0",
            "error: --max-connections must be at least 1",
        ),
        ("--token", " ", "error: --token must not be empty"),
    ] {
        let o = anneal(&[
            "serve",
            "--artifact",
            artifact,
            "--addr",
            "127.0.0.1:0",
            flag,
            value,
        ]);
        assert_error(&o, 2, message);
    }
    let s = Server::start(titanic(), &[]);
    let o = anneal(&["serve", "--artifact", artifact, "--addr", &s.addr]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("error: cannot listen on {}: ", s.addr)),
        "{}",
        stderr(&o)
    );
    let missing = scratch("serve-missing").join("nope");
    let o = anneal(&["serve", "--artifact", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "nothing is announced");
}

// ---------------------------------------------------------------------------
// Hostile clients: every refusal is a 4xx (or 503) with a one-line JSON
// error, and the server keeps answering.

/// A request with the given extra header lines (`Name: value`), on a fresh
/// connection.
fn raw(addr: &str, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Response {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut s = connect(addr);
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    read_response(&mut BufReader::new(s)).expect("a response")
}

/// A one-line JSON error: `{"error": "..."}` and nothing else.
fn one_line_error(r: &Response) -> String {
    let text = r.text();
    assert!(!text.contains('\n'), "one line: {text}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v.as_object().unwrap().len(), 1, "{text}");
    for leak in ["panicked", "src/", ".rs:", "/home", "/work", "backtrace"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    r.error()
}

fn v2_one_row(age: &str, age_shape: &str) -> String {
    format!(
        r#"{{"inputs": [
        {{"name": "pclass", "shape": [1], "datatype": "BYTES", "data": ["3rd"]}},
        {{"name": "sex", "shape": [1], "datatype": "BYTES", "data": ["male"]}},
        {{"name": "age", "shape": {age_shape}, "datatype": "FP64", "data": [{age}]}},
        {{"name": "sibsp", "shape": [1], "datatype": "FP64", "data": [1]}},
        {{"name": "parch", "shape": [1], "datatype": "FP64", "data": [0]}}]}}"#
    )
}

#[test]
fn shape_bombs_and_huge_values_are_400() {
    let s = Server::start(titanic(), &[]);
    let infer = s.infer_path();
    let json = ["Content-Type: application/json", "Host: localhost"];
    for n in [1u64 << 45, 1 << 60] {
        let body = v2_one_row("1", &format!("[{n}]"));
        assert!(body.len() < 1024);
        let r = raw(&s.addr, "POST", &infer, &json, body.as_bytes());
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(
            one_line_error(&r),
            format!(
                "input \"age\": \"shape\" declares {n} values, more than the limit of 100000 rows (--max-rows)"
            )
        );
        assert_eq!(
            s.get("/v2/health/live").status,
            200,
            "alive after 2^{}",
            n.ilog2()
        );
    }
    let r = raw(
        &s.addr,
        "POST",
        &infer,
        &json,
        v2_one_row("1e300", "[1]").as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        one_line_error(&r),
        "column \"age\", row 1: 1e300 is outside the range of the model's 32-bit floats (±3.4028235e38)"
    );
    let r = raw(
        &s.addr,
        "POST",
        &infer,
        &json,
        v2_one_row("22", "[1]").as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!s.stderr().contains("panicked"), "{}", s.stderr());
}

#[test]
fn token_and_host_are_checked() {
    let s = Server::start_env(titanic(), &[], &[("ANNEAL_SERVE_TOKEN", "s3cret")]);
    let infer = s.infer_path();
    let body = v2_one_row("22", "[1]");
    let post = |headers: &[&str]| {
        let mut h = vec!["Content-Type: application/json"];
        h.extend_from_slice(headers);
        raw(&s.addr, "POST", &infer, &h, body.as_bytes())
    };
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic s3cret"),
        Some("Bearer s3cret2"),
    ] {
        let mut h = vec!["Host: localhost"];
        let line = auth.map(|a| format!("Authorization: {a}"));
        if let Some(l) = &line {
            h.push(l);
        }
        let r = post(&h);
        assert_eq!(r.status, 401, "{auth:?}: {}", r.text());
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert_eq!(
            one_line_error(&r),
            "missing or wrong bearer token (Authorization: Bearer ...)"
        );
    }
    let r = post(&["Host: localhost:8080", "Authorization: Bearer s3cret"]);
    assert_eq!(r.status, 200, "{}", r.text());
    // Metadata and metrics need the token too; the health probes do not.
    assert_eq!(s.get("/metrics").status, 401);
    assert_eq!(s.get(&format!("/v2/models/{}", s.name)).status, 401);
    for probe in ["/v2/health/live", "/v2/health/ready", "/ping", "/health"] {
        assert_eq!(
            raw(&s.addr, "GET", probe, &["Host: pod.ip"], b"").status,
            200
        );
    }
    // A rebinding page sends its own name as Host: refused even with the
    // token, on the loopback bind's default allow-list.
    for host in [
        "evil.example",
        "evil.example:8080",
        "127.0.0.1.evil.example",
    ] {
        let r = post(&[&format!("Host: {host}"), "Authorization: Bearer s3cret"]);
        assert_eq!(r.status, 403, "{host}: {}", r.text());
        assert_eq!(
            one_line_error(&r),
            "this Host is not allowed (--allow-host)"
        );
    }
    // --allow-host replaces the default list; the flag beats the variable.
    let s2 = Server::start_env(
        titanic(),
        &["--allow-host", "model.internal", "--token", "flag"],
        &[("ANNEAL_SERVE_TOKEN", "env")],
    );
    let get = |host: &str, token: &str| {
        let auth = format!("Authorization: Bearer {token}");
        raw(
            &s2.addr,
            "GET",
            "/v2",
            &[&format!("Host: {host}"), &auth],
            b"",
        )
        .status
    };
    assert_eq!(get("model.internal:443", "flag"), 200);
    assert_eq!(get("model.internal", "env"), 401);
    assert_eq!(get("localhost", "flag"), 403);
}

#[test]
fn full_queue_is_503_with_retry_after() {
    let s = Server::start(titanic(), &["--workers", "1", "--queue", "0"]);
    let infer = s.infer_path();
    let body = v2_one_row("22", "[1]");
    let head = format!(
        "POST {infer} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // The first request is admitted on its head and holds the only place
    // while its body trickles in.
    let mut first = connect(&s.addr);
    first.write_all(head.as_bytes()).unwrap();
    first.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let r = s.post(&infer, &serde_json::from_str(&body).unwrap());
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(
        one_line_error(&r),
        "the server is busy: the request queue is full (--queue); retry later"
    );
    first.write_all(&body.as_bytes()[10..]).unwrap();
    let r = read_response(&mut BufReader::new(first)).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.post(&infer, &serde_json::from_str(&body).unwrap());
    assert_eq!(r.status, 200, "the place is free again: {}", r.text());
    let metrics = s.get("/metrics").text();
    assert_eq!(
        sample(
            &metrics,
            "anneal_requests_total{route=\"/v2/models/{name}/infer\",status=\"503\"}"
        ),
        1.0
    );
}

/// How long until the server closes `stream` (reads return 0 or fail).
fn closed_within(mut stream: TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return start.elapsed(),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return start.elapsed(),
            Err(e) => panic!("not closed within {limit:?}: {e}"),
        }
    }
}

#[test]
fn slow_and_idle_connections_are_closed() {
    let s = Server::start(
        titanic(),
        &["--header-timeout", "0.3", "--idle-timeout", "1"],
    );
    // A head that never ends: closed after the header timeout.
    let mut slow = connect(&s.addr);
    slow.write_all(b"GET /ping HTTP/1.1\r\nHost: loc").unwrap();
    let t = closed_within(slow, Duration::from_secs(5));
    assert!(
        t >= Duration::from_millis(250) && t < Duration::from_secs(2),
        "{t:?}"
    );
    // A socket that never sends a byte: the same.
    let t = closed_within(connect(&s.addr), Duration::from_secs(5));
    assert!(
        t >= Duration::from_millis(250) && t < Duration::from_secs(2),
        "{t:?}"
    );
    // Kept alive: a pause longer than the header timeout but shorter than
    // the idle timeout is fine; then closed after the idle timeout.
    let mut conn = Conn::new(&s.addr);
    let ping = b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n";
    conn.reader.get_mut().write_all(ping).unwrap();
    assert_eq!(read_response(&mut conn.reader).unwrap().status, 200);
    std::thread::sleep(Duration::from_millis(500));
    conn.reader.get_mut().write_all(ping).unwrap();
    assert_eq!(read_response(&mut conn.reader).unwrap().status, 200);
    let t = closed_within(conn.reader.into_inner(), Duration::from_secs(5));
    assert!(
        t >= Duration::from_millis(900) && t < Duration::from_secs(3),
        "{t:?}"
    );
    // Over the connection cap: 503 at once; a place frees when one closes.
    // (Default timeouts here, so the held sockets stay open meanwhile.)
    let capped = Server::start(titanic(), &["--max-connections", "2"]);
    let held: Vec<TcpStream> = (0..2).map(|_| connect(&capped.addr)).collect();
    std::thread::sleep(Duration::from_millis(100));
    let r = http(&capped.addr, "GET", "/ping", None, b"");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(
        one_line_error(&r),
        "too many connections (--max-connections); retry later"
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(capped.get("/ping").status, 200);
}

// ---------------------------------------------------------------------------
// The binary tensor data extension (what Triton's clients send by default).

impl Rows {
    /// `rows` as a binary v2 request: the JSON header and the tensors'
    /// bytes (FP64 with NaN for a missing number, BYTES with 4-byte length
    /// prefixes and "" for a missing category).
    fn v2_binary(&self, meta: &Value, parameters: Value) -> (String, Vec<u8>) {
        let numeric = Rows::numeric_columns(meta);
        let mut tail = Vec::new();
        let mut inputs = Vec::new();
        for (j, c) in self.columns.iter().enumerate() {
            let start = tail.len();
            let is_num = numeric.contains(c);
            for row in &self.cells {
                let cell = row[j].as_deref();
                if is_num {
                    let x = cell.map_or(f64::NAN, |t| t.parse().unwrap());
                    tail.extend_from_slice(&x.to_le_bytes());
                } else {
                    let t = cell.unwrap_or("");
                    tail.extend_from_slice(&(t.len() as u32).to_le_bytes());
                    tail.extend_from_slice(t.as_bytes());
                }
            }
            inputs.push(json!({
                "name": c,
                "shape": [self.cells.len(), 1],
                "datatype": if is_num { "FP64" } else { "BYTES" },
                "parameters": { "binary_data_size": tail.len() - start },
            }));
        }
        let header = json!({ "id": "bin-1", "inputs": inputs, "parameters": parameters });
        (header.to_string(), tail)
    }
}

/// Sends a binary request as tritonclient does: no Content-Type, the JSON
/// header's length in Inference-Header-Content-Length.
fn post_binary(s: &Server, header: &str, tail: &[u8]) -> Response {
    post_binary_to(s, &s.infer_path(), header, tail)
}

fn post_binary_to(s: &Server, path: &str, header: &str, tail: &[u8]) -> Response {
    let length = format!("Inference-Header-Content-Length: {}", header.len());
    let body = [header.as_bytes(), tail].concat();
    raw(&s.addr, "POST", path, &["Host: localhost", &length], &body)
}

/// The binary outputs of an answer: name -> bytes, after its JSON header.
fn binary_outputs(r: &Response) -> (Value, Vec<(String, Vec<u8>)>) {
    let n: usize = r
        .header("inference-header-content-length")
        .expect("Inference-Header-Content-Length")
        .parse()
        .unwrap();
    let header: Value = serde_json::from_slice(&r.body[..n]).unwrap();
    let mut rest = &r.body[n..];
    let mut out = Vec::new();
    for o in header["outputs"].as_array().unwrap() {
        let Some(size) = o["parameters"]["binary_data_size"].as_u64() else {
            continue;
        };
        let (bytes, tail) = rest.split_at(size as usize);
        out.push((o["name"].as_str().unwrap().to_string(), bytes.to_vec()));
        rest = tail;
    }
    assert!(rest.is_empty(), "bytes left after the outputs");
    (header, out)
}

fn fp64s(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn byte_strings(mut bytes: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        out.push(json!(std::str::from_utf8(&bytes[4..4 + len]).unwrap()));
        bytes = &bytes[4 + len..];
    }
    out
}

#[test]
fn binary_tensors_match_json() {
    let s = Server::start(titanic(), &[]);
    let meta = s.metadata();
    let rows = Rows::from_dataset("titanic.csv", "survived");
    let n = rows.cells.len();
    let expected = predict_csv(titanic(), &rows, &scratch("serve-binary"));

    // Binary inputs, JSON outputs: the same answer as the JSON request.
    let json_answer = s.post(&s.infer_path(), &rows.v2(&meta));
    assert_eq!(json_answer.status, 200, "{}", json_answer.text());
    let (header, tail) = rows.v2_binary(&meta, json!({}));
    let r = post_binary(&s, &header, &tail);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let mut got = r.json();
    assert_eq!(got["id"], "bin-1");
    got["id"] = json!("req-1");
    assert_eq!(got, json_answer.json());
    assert_eq!(json_numbers(&r.text()), json_numbers(&json_answer.text()));

    // Binary outputs, bit for bit those of `anneal predict` (on the
    // versioned path).
    let (header, tail) = rows.v2_binary(&meta, json!({ "binary_data_output": true }));
    let versioned = format!("/v2/models/titanic/versions/{}/infer", s.id);
    let r = post_binary_to(&s, &versioned, &header, &tail);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let (head, outputs) = binary_outputs(&r);
    assert_eq!(head["model_name"], "titanic");
    let names: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["prediction", "proba_died", "proba_survived"]);
    for o in head["outputs"].as_array().unwrap() {
        assert_eq!(o["shape"], json!([n]));
        assert!(o.get("data").is_none(), "{o}");
    }
    let labels = byte_strings(&outputs[0].1);
    assert_labels(
        "binary prediction",
        &labels,
        column(&expected, "prediction"),
    );
    for (name, bytes) in &outputs[1..] {
        let want = parse_all(column(&expected, name));
        assert_same_numbers(name, &fp64s(bytes), &want);
    }

    // One output binary, asked for by name; the other in JSON.
    let (header, tail) = rows.v2_binary(&meta, json!({}));
    let mut header: Value = serde_json::from_str(&header).unwrap();
    header["outputs"] = json!([
        {"name": "proba_survived", "parameters": {"binary_data": true}},
        {"name": "prediction"}
    ]);
    let r = post_binary(&s, &header.to_string(), &tail);
    assert_eq!(r.status, 200, "{}", r.text());
    let (head, outputs) = binary_outputs(&r);
    assert_eq!(outputs.len(), 1);
    let want = parse_all(column(&expected, "proba_survived"));
    assert_same_numbers("proba_survived", &fp64s(&outputs[0].1), &want);
    // Outputs come in the model's order, prediction first.
    let labels = head["outputs"][0]["data"].as_array().unwrap();
    assert_labels("JSON prediction", labels, column(&expected, "prediction"));
}

#[test]
fn truncated_binary_body_is_400_naming_the_input() {
    let s = Server::start(titanic(), &[]);
    let meta = s.metadata();
    let rows = Rows::from_dataset("titanic.csv", "survived");
    let (header, tail) = rows.v2_binary(&meta, json!({}));
    let cut = tail.len() - 3;
    let r = post_binary(&s, &header, &tail[..cut]);
    assert_eq!(r.status, 400, "{}", r.text());
    let msg = one_line_error(&r);
    assert!(
        msg.starts_with("input \"parch\": binary_data_size is "),
        "{msg}"
    );
    // A header length past the body, and one that is not a number.
    let length = format!("Inference-Header-Content-Length: {}", header.len() + 1);
    let r = raw(
        &s.addr,
        "POST",
        &s.infer_path(),
        &["Host: localhost", &length],
        header.as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        one_line_error(&r),
        format!(
            "Inference-Header-Content-Length is {}, but the body has only {} bytes",
            header.len() + 1,
            header.len()
        )
    );
    let r = raw(
        &s.addr,
        "POST",
        &s.infer_path(),
        &["Host: localhost", "Inference-Header-Content-Length: -1"],
        header.as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        one_line_error(&r),
        "Inference-Header-Content-Length must be a byte count"
    );
    // JSON without a Content-Type is still refused.
    let r = raw(
        &s.addr,
        "POST",
        &s.infer_path(),
        &["Host: localhost"],
        rows.v2(&meta).to_string().as_bytes(),
    );
    assert_eq!(r.status, 415, "{}", r.text());
}

// ---------------------------------------------------------------------------
// Monitoring: drift gauges over a sliding window, the inference log.

/// The titanic rows (without the target) as `dataframe_records` objects,
/// in a fixed shuffled order (the file is sorted by class), ages moved by
/// `age_shift`.
fn titanic_records(age_shift: f64) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join("datasets/titanic.csv")).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let n = rows.len();
    // 100 and 1309 are coprime: every row once.
    (0..n)
        .map(|i| {
            let r = &rows[(i * 100) % n];
            let num = |s: &str| s.parse::<f64>().ok();
            json!({
                "pclass": r[0], "sex": r[2],
                "age": num(r[3]).map(|a| a + age_shift),
                "sibsp": num(r[4]), "parch": num(r[5]),
            })
        })
        .collect()
}

/// Posts `records` in requests of `per` rows, each with the id
/// `<prefix>-<k>`; returns the ids.
fn post_records(s: &Server, records: &[Value], per: usize, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for (k, chunk) in records.chunks(per).enumerate() {
        let id = format!("{prefix}-{k}");
        let body = json!({ "dataframe_records": chunk }).to_string();
        let header = format!("X-Request-Id: {id}");
        let r = raw(
            &s.addr,
            "POST",
            "/invocations",
            &["Host: localhost", "Content-Type: application/json", &header],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-request-id"), Some(id.as_str()));
        ids.push(id);
    }
    ids
}

/// `column -> value` of one gauge.
fn gauges(metrics: &str, name: &str) -> Vec<(String, f64)> {
    let prefix = format!("{name}{{column=\"");
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let (column, value) = rest.split_once("\"} ").unwrap();
            (column.to_string(), value.parse().unwrap())
        })
        .collect()
}

#[test]
fn drift_gauges_and_the_inference_log() {
    let dir = scratch("serve-monitor").join("log");
    let mut s = Server::start(
        titanic(),
        &[
            "--monitor-window-rows",
            "500",
            "--log-dir",
            dir.to_str().unwrap(),
            "--log-max-bytes",
            "100000",
        ],
    );
    // Stationary traffic: no alert anywhere.
    let still = titanic_records(0.0);
    let mut ids = post_records(&s, &still, 250, "still");
    let m = s.get("/metrics").text();
    // Requests of 250 rows and a last of 59: whole requests leave the window.
    assert_eq!(sample(&m, "anneal_drift_window_rows"), 559.0, "{m}");
    let alerts = gauges(&m, "anneal_drift_alert");
    let columns: Vec<&str> = alerts.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        columns,
        ["pclass", "sex", "age", "sibsp", "parch", "__prediction__"]
    );
    assert!(alerts.iter().all(|(_, v)| *v == 0.0), "{m}");
    let psi = gauges(&m, "anneal_drift_psi");
    assert!(psi.iter().all(|(_, v)| *v < 0.1), "{psi:?}");
    // Ages 15 years older: age alone alerts once the window holds them.
    let shifted = titanic_records(15.0);
    ids.extend(post_records(&s, &shifted[..500], 250, "old"));
    let m = s.get("/metrics").text();
    let alerts = gauges(&m, "anneal_drift_alert");
    for (column, value) in &alerts {
        assert_eq!(
            *value,
            f64::from(u8::from(column == "age")),
            "{column}: {m}"
        );
    }
    let age_psi = gauges(&m, "anneal_drift_psi")
        .into_iter()
        .find(|(c, _)| c == "age")
        .unwrap()
        .1;
    assert!(age_psi > 0.25, "{age_psi}");
    assert_eq!(sample(&m, "anneal_drift_alerting_columns"), 1.0);
    let v = s.get("/v1/monitor").json();
    assert_eq!(v["alerting_columns"], json!(["age"]));
    assert_eq!(v["window"]["rows"], 500);
    let drift = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "drift" && c["column"] == "age")
        .unwrap();
    assert_eq!(drift["passed"], false);
    let message = drift["message"].as_str().unwrap();
    assert!(message.starts_with("column \"age\": PSI "), "{message}");

    // SIGTERM: every row reaches the log before the process exits.
    s.signal("TERM");
    assert_eq!(s.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let log = anneal_monitor::log::read_dir(&dir).unwrap();
    assert!(log.skipped.is_empty(), "{:?}", log.skipped);
    assert_eq!(log.artifact_id.as_deref(), Some(s.id.as_str()));
    assert!(
        anneal_monitor::log::log_files(&dir).unwrap().len() > 2,
        "rotated"
    );
    assert_eq!(log.records.len(), still.len() + 500);
    let sent: Vec<(String, u32)> = ids
        .iter()
        .zip(still.chunks(250).map(<[Value]>::len).chain([250, 250]))
        .flat_map(|(id, n)| (0..n as u32).map(move |r| (id.clone(), r)))
        .collect();
    let logged: Vec<(String, u32)> = log
        .records
        .iter()
        .map(|r| (r.request_id.clone(), r.row))
        .collect();
    assert_eq!(logged, sent);
    let first = &log.records[0];
    assert_eq!(first.inputs.get("sex"), still[0].get("sex"));
    assert!(
        first.probabilities.as_ref().unwrap().len() == 2,
        "{first:?}"
    );
}

#[test]
fn a_failing_log_never_fails_requests() {
    let dir = scratch("serve-log-gone").join("log");
    // One file per request, in a folder removed under the server.
    let s = Server::start(
        titanic(),
        &[
            "--log-dir",
            dir.to_str().unwrap(),
            "--log-max-bytes",
            "1",
            "--no-monitor",
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let records = titanic_records(0.0);
    post_records(&s, &records[..40], 10, "r");
    let mut m = String::new();
    for _ in 0..100 {
        m = s.get("/metrics").text();
        if sample(&m, "anneal_inference_log_dropped_rows_total") == 40.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        sample(&m, "anneal_inference_log_dropped_rows_total"),
        40.0,
        "{m}"
    );
    assert_eq!(sample(&m, "anneal_inference_log_healthy"), 0.0);
    assert!(!m.contains("anneal_drift_"), "--no-monitor");
    assert_eq!(s.get("/v1/monitor").status, 404);
    assert!(
        s.stderr_with("the inference log is failing")
            .contains("the inference log is failing"),
        "{}",
        s.stderr()
    );

    // Bad monitoring flags: one line, exit 2.
    let artifact = titanic().to_str().unwrap();
    let file = root().join("Cargo.toml");
    let under_file = file.join("log");
    for (flags, message) in [
        (
            vec!["--log-dir", "x", "--log-sample", "0"],
            "error: --log-sample must be more than 0 and at most 1, not 0".to_string(),
        ),
        (
            vec!["--monitor-window-rows", "0"],
            "error: --monitor-window-rows must be at least 1".to_string(),
        ),
        (
            vec!["--monitor-window-seconds", "0"],
            "error: --monitor-window-seconds must be more than 0 and at most 86400 seconds"
                .to_string(),
        ),
        (
            vec!["--log-dir", under_file.to_str().unwrap()],
            format!(
                "error: --log-dir: {}: Not a directory (os error 20)",
                under_file.display()
            ),
        ),
    ] {
        let mut args = vec!["serve", "--artifact", artifact, "--addr", "127.0.0.1:0"];
        args.extend(flags);
        assert_error(&anneal(&args), 2, &message);
    }
}
