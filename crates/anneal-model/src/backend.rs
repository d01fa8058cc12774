//! The one place a backend enum becomes a burn device. The device is always
//! built explicitly: with a GPU backend compiled in, burn's default device
//! would silently pick it, and `Device::default()` on wgpu would let wgpu's
//! heuristics choose an adapter (a software one included) without saying so.

use anneal_config::Backend;
use burn::tensor::Device;

use crate::error::{ModelError, Result};

/// The environment variable that pins the wgpu adapter: `discrete:N`,
/// `integrated:N`, `virtual:N` or `cpu` (a software adapter such as Mesa's
/// lavapipe). Unset, anneal takes the first of discrete:0, integrated:0 and
/// virtual:0 that exists, and never a software adapter.
pub const WGPU_DEVICE_ENV: &str = "ANNEAL_WGPU_DEVICE";

/// The plain (non-autodiff) device for `backend`.
pub fn device(backend: Backend) -> Result<Device> {
    Ok(open(backend)?.device)
}

/// A device and the words that name it in benchmark output.
#[derive(Clone)]
pub struct Opened {
    pub device: Device,
    /// The adapter (wgpu: name, driver and graphics API) or the CPU.
    pub name: String,
}

/// The device for `backend` with its name.
pub fn open(backend: Backend) -> Result<Opened> {
    match backend {
        Backend::Flex => Ok(Opened {
            device: {
                warm_flex();
                Device::new(burn_flex::FlexDevice)
            },
            name: format!("CPU ({}, burn-flex)", cpu_name()),
        }),
        // burn-ndarray is deprecated upstream (removed in burn 0.23); it is
        // kept as the second CPU backend until then.
        #[allow(deprecated)]
        Backend::Ndarray => Ok(Opened {
            device: Device::new(burn_ndarray::NdArrayDevice::Cpu),
            name: format!("CPU ({}, burn-ndarray)", cpu_name()),
        }),
        Backend::Wgpu => wgpu::open(),
    }
}

/// Starts, once per process, a thread that runs one small matrix product
/// on burn-flex and ends. The first product in a process reads the CPU's
/// cache sizes from sysfs (gemm's blocking parameters: about a hundred
/// small files, ~1 ms); done here, while the data stage runs, the first
/// training step does not wait for it. The values read are the same
/// whichever thread reads them, so results do not change.
fn warm_flex() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("anneal-warm".into())
            .spawn(|| {
                let a = burn_flex::FlexTensor::from_data(burn::tensor::TensorData::new(
                    vec![0f32; 64 * 64],
                    [64, 64],
                ));
                drop(burn_flex::ops::matmul::matmul(a.clone(), a));
            });
        // Without the thread the first step pays the cost itself.
        drop(spawned);
    });
}

/// Whether runs on `backend` are bit-reproducible for a fixed seed.
pub fn is_deterministic(backend: Backend) -> bool {
    matches!(backend, Backend::Flex | Backend::Ndarray)
}

/// The CPU's model name, from /proc/cpuinfo where there is one.
fn cpu_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!(
        "{}, {threads} threads",
        model.unwrap_or_else(|| std::env::consts::ARCH.to_string())
    )
}

/// Parses an adapter selector (`discrete:0`, `integrated:1`, `cpu`, ...).
/// Kept outside the feature gate so that the syntax is tested in every
/// build.
pub fn parse_selector(text: &str) -> std::result::Result<Selector, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "cpu" {
        return Ok(Selector::Cpu);
    }
    let (kind, index) = t.split_once(':').unwrap_or((t.as_str(), "0"));
    let index: usize = index
        .parse()
        .map_err(|_| format!("{index:?} is not an adapter index"))?;
    match kind {
        "discrete" => Ok(Selector::Discrete(index)),
        "integrated" => Ok(Selector::Integrated(index)),
        "virtual" => Ok(Selector::Virtual(index)),
        _ => Err(format!(
            "{text:?} is not an adapter: use discrete:N, integrated:N, virtual:N or cpu"
        )),
    }
}

/// Which wgpu adapter to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    Discrete(usize),
    Integrated(usize),
    Virtual(usize),
    /// A software adapter (llvmpipe/lavapipe, WARP).
    Cpu,
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Discrete(i) => write!(f, "discrete:{i}"),
            Selector::Integrated(i) => write!(f, "integrated:{i}"),
            Selector::Virtual(i) => write!(f, "virtual:{i}"),
            Selector::Cpu => write!(f, "cpu"),
        }
    }
}

/// The selectors to try, in order: the pinned one, else the GPUs.
fn candidates() -> Result<Vec<Selector>> {
    match std::env::var(WGPU_DEVICE_ENV) {
        Ok(v) if !v.trim().is_empty() => {
            let s = parse_selector(&v).map_err(|reason| ModelError::BackendUnavailable {
                backend: "wgpu",
                reason: format!("{WGPU_DEVICE_ENV}: {reason}"),
            })?;
            Ok(vec![s])
        }
        _ => Ok(vec![
            Selector::Discrete(0),
            Selector::Integrated(0),
            Selector::Virtual(0),
        ]),
    }
}

#[cfg(not(feature = "wgpu"))]
mod wgpu {
    use super::*;

    pub fn open() -> Result<Opened> {
        // The selector is still checked, so that a typo is reported as one.
        candidates()?;
        Err(ModelError::BackendUnavailable {
            backend: "wgpu",
            reason: "this build of anneal has no GPU support compiled in; rebuild with `cargo build --release --features wgpu`, or use backend = \"flex\" (the default) or \"ndarray\"".into(),
        })
    }
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use std::sync::OnceLock;

    use burn::tensor::DeviceKind;

    use super::*;

    /// A wgpu runtime is initialised once per process (burn refuses a
    /// second initialisation of the same adapter), so the outcome is kept.
    static OPENED: OnceLock<std::result::Result<Opened, String>> = OnceLock::new();

    pub fn open() -> Result<Opened> {
        let wanted = candidates()?;
        OPENED
            .get_or_init(|| try_open(&wanted))
            .clone()
            .map_err(|reason| ModelError::BackendUnavailable {
                backend: "wgpu",
                reason,
            })
    }

    fn try_open(wanted: &[Selector]) -> std::result::Result<Opened, String> {
        let mut tried = Vec::new();
        for &s in wanted {
            let kind = match s {
                Selector::Discrete(i) => DeviceKind::DiscreteGpu(i),
                Selector::Integrated(i) => DeviceKind::IntegratedGpu(i),
                Selector::Virtual(i) => DeviceKind::VirtualGpu(i),
                Selector::Cpu => DeviceKind::Cpu,
            };
            match Device::wgpu_options().device_kind(kind).init_with_setup() {
                Ok((device, setup)) => {
                    let info = setup.adapter.get_info();
                    let driver = if info.driver.is_empty() {
                        String::new()
                    } else {
                        format!(", {} {}", info.driver, info.driver_info)
                    };
                    return Ok(Opened {
                        device,
                        name: format!(
                            "{} ({s}, {:?}{})",
                            info.name,
                            info.backend,
                            driver.trim_end()
                        ),
                    });
                }
                Err(e) => tried.push(format!("{s}: {e}")),
            }
        }
        let hint = if wanted == [Selector::Cpu] {
            "install a software Vulkan driver (Debian: apt-get install mesa-vulkan-drivers)"
                .to_string()
        } else {
            format!(
                "install the GPU's Vulkan, Metal or DX12 driver, or set {WGPU_DEVICE_ENV}=cpu to train on a software adapter (Mesa's lavapipe: slow, for tests)"
            )
        };
        Err(format!(
            "no wgpu adapter could be opened ({}); {hint}",
            tried.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_and_print() {
        for (text, want) in [
            ("discrete:0", Selector::Discrete(0)),
            ("Integrated:2", Selector::Integrated(2)),
            ("virtual", Selector::Virtual(0)),
            (" cpu ", Selector::Cpu),
        ] {
            let s = parse_selector(text).unwrap();
            assert_eq!(s, want);
            assert_eq!(parse_selector(&s.to_string()).unwrap(), s);
        }
        assert_eq!(
            parse_selector("gpu:0").unwrap_err(),
            "\"gpu:0\" is not an adapter: use discrete:N, integrated:N, virtual:N or cpu"
        );
        assert_eq!(
            parse_selector("discrete:x").unwrap_err(),
            "\"x\" is not an adapter index"
        );
    }

    #[test]
    fn cpu_backends_name_the_cpu() {
        let o = open(Backend::Flex).unwrap();
        assert!(o.name.starts_with("CPU ("), "{}", o.name);
        assert!(o.name.ends_with("burn-flex)"), "{}", o.name);
    }
}
