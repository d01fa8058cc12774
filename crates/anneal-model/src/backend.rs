//! The one place a backend enum becomes a burn device. The device is always
//! built explicitly: with a GPU backend compiled in, burn's default device
//! would silently pick it.

use anneal_config::Backend;
use burn::tensor::Device;

use crate::error::{ModelError, Result};

/// The plain (non-autodiff) device for `backend`.
pub fn device(backend: Backend) -> Result<Device> {
    match backend {
        Backend::Flex => Ok(Device::new(burn_flex::FlexDevice)),
        // burn-ndarray is deprecated upstream (removed in burn 0.23); it is
        // kept as the second CPU backend until then.
        #[allow(deprecated)]
        Backend::Ndarray => Ok(Device::new(burn_ndarray::NdArrayDevice::Cpu)),
        Backend::Wgpu => Err(ModelError::BackendUnavailable {
            backend: "wgpu",
            reason: "this build of anneal has no GPU support compiled in; use backend = \"flex\" (the default) or \"ndarray\"".into(),
        }),
    }
}

/// Whether runs on `backend` are bit-reproducible for a fixed seed.
pub fn is_deterministic(backend: Backend) -> bool {
    matches!(backend, Backend::Flex | Backend::Ndarray)
}
