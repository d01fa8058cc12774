//! safetensors encoding of the network's parameters: f32, little-endian,
//! named `layers.<i>.weight` (`[in, out]`) and `layers.<i>.bias`, with no
//! metadata so the bytes depend on the values alone.

use anneal_model::NetworkTensor;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

pub(crate) fn encode(tensors: &[NetworkTensor]) -> Result<Vec<u8>, String> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|t| {
            let mut b = Vec::with_capacity(t.values.len() * 4);
            for v in &t.values {
                b.extend_from_slice(&v.to_le_bytes());
            }
            (t.name.clone(), t.shape.clone(), b)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(n, s, b)| {
            TensorView::new(Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, None).map_err(|e| e.to_string())
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<NetworkTensor>, String> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let view = st.tensor(&name).map_err(|e| e.to_string())?;
            if view.dtype() != Dtype::F32 {
                return Err(format!("tensor {name} is {:?}, expected F32", view.dtype()));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Ok(NetworkTensor {
                name,
                shape: view.shape().to_vec(),
                values,
            })
        })
        .collect()
}
