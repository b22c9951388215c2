//! Choosing where models run: a GPU when this build has one compiled in (`cuda` or `metal`
//! feature) and the machine has it, the CPU otherwise.

use candle_core::Device;

use crate::Result;

/// The device named by a setting: `"cpu"`, or `"auto"` for the first accelerator compiled in
/// and present, else the CPU.
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "auto" => {
            let cuda = Device::cuda_if_available(0)?;
            if cuda.is_cuda() {
                return Ok(cuda);
            }
            Ok(Device::metal_if_available(0)?)
        }
        other => Err(crate::Error::Unsupported(format!(
            "device {other:?} (expected \"auto\" or \"cpu\")"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_builds_fall_back_to_the_cpu() -> Result<()> {
        assert!(device("cpu")?.is_cpu());
        if !cfg!(any(feature = "cuda", feature = "metal")) {
            assert!(device("auto")?.is_cpu());
        }
        assert!(device("tpu").is_err());
        Ok(())
    }
}
