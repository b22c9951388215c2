//! The Euler sampler over a checkpoint's training noise schedule, as diffusers'
//! `EulerDiscreteScheduler` (no churn, linear sigma interpolation, a final sigma of zero),
//! with img2img's start part-way down the schedule.

use candle_core::Tensor;

use super::config::SchedulerFile;
use crate::{Error, Result};

/// What the UNet predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prediction {
    /// The noise (SD 1.x, SD 2.x base, SD-Turbo).
    Epsilon,
    /// The velocity (SD 2.x at 768 px).
    Velocity,
}

/// A run's timesteps and noise levels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Schedule {
    /// The timesteps the UNet is asked at, in order.
    pub(crate) timesteps: Vec<f64>,
    /// The noise level at each timestep, then 0 after the last.
    pub(crate) sigmas: Vec<f64>,
    prediction: Prediction,
}

/// The training schedule, ready to be cut into runs.
#[derive(Debug, Clone)]
pub(crate) struct Euler {
    file: SchedulerFile,
    /// The noise level of every training timestep.
    train_sigmas: Vec<f64>,
    prediction: Prediction,
}

impl Euler {
    pub(crate) fn new(file: SchedulerFile) -> Result<Self> {
        file.check()?;
        let n = file.num_train_timesteps;
        // diffusers computes the betas and their products in f32; so does this.
        let betas: Vec<f32> = match file.beta_schedule.as_str() {
            "scaled_linear" => linspace(file.beta_start.sqrt(), file.beta_end.sqrt(), n)
                .into_iter()
                .map(|b| b * b)
                .collect(),
            "linear" => linspace(file.beta_start, file.beta_end, n),
            other => {
                return Err(Error::Unsupported(format!(
                    "scheduler: beta schedule {other}"
                )));
            }
        };
        let mut product = 1.0f32;
        let train_sigmas = betas
            .iter()
            .map(|b| {
                product *= 1.0 - b;
                let a = f64::from(product);
                ((1.0 - a) / a).sqrt()
            })
            .collect();
        let prediction = match file.prediction_type.as_str() {
            "epsilon" => Prediction::Epsilon,
            "v_prediction" => Prediction::Velocity,
            other => {
                return Err(Error::Unsupported(format!(
                    "scheduler: prediction type {other}"
                )));
            }
        };
        Ok(Self {
            file,
            train_sigmas,
            prediction,
        })
    }

    /// The last `⌊steps × strength⌋` of `steps` timesteps, as img2img runs them (strength 1
    /// starts from pure noise); fails when that leaves no step.
    pub(crate) fn img2img(&self, steps: usize, strength: f64) -> Result<Schedule> {
        let all = self.timesteps(steps)?;
        // As diffusers: int(steps * strength) in f64.
        let kept = ((steps as f64 * strength) as usize).min(steps);
        if kept == 0 {
            return Err(Error::Variation(format!(
                "{steps} steps at strength {strength} leave no step to run: raise either"
            )));
        }
        let timesteps = all[steps - kept..].to_vec();
        let mut sigmas: Vec<f64> = timesteps.iter().map(|&t| self.sigma_at(t)).collect();
        sigmas.push(0.0);
        Ok(Schedule {
            timesteps,
            sigmas,
            prediction: self.prediction,
        })
    }

    /// `steps` timesteps spaced as the file says, highest first.
    fn timesteps(&self, steps: usize) -> Result<Vec<f64>> {
        let n = self.file.num_train_timesteps;
        if steps == 0 || steps > n {
            return Err(Error::Variation(format!(
                "{steps} steps (1 to {n} for this model)"
            )));
        }
        let t: Vec<f64> = match self.file.timestep_spacing.as_str() {
            "leading" => {
                let ratio = n / steps;
                (0..steps)
                    .rev()
                    .map(|i| (i * ratio + self.file.steps_offset) as f64)
                    .collect()
            }
            "trailing" => {
                let ratio = n as f64 / steps as f64;
                // np.round(np.arange(n, 0, -ratio)) - 1
                (0..steps)
                    .map(|i| (n as f64 - i as f64 * ratio).round_ties_even() - 1.0)
                    .collect()
            }
            "linspace" => {
                let last = (n - 1) as f64;
                (0..steps)
                    .rev()
                    .map(|i| {
                        if steps == 1 {
                            0.0
                        } else {
                            last * i as f64 / (steps - 1) as f64
                        }
                    })
                    .collect()
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "scheduler: timestep spacing {other}"
                )));
            }
        };
        // diffusers keeps timesteps as f32.
        Ok(t.into_iter().map(|t| f64::from(t as f32)).collect())
    }

    /// The training noise level at `t`, interpolated linearly between whole timesteps.
    fn sigma_at(&self, t: f64) -> f64 {
        let last = self.train_sigmas.len() - 1;
        let t = t.clamp(0.0, last as f64);
        let (low, frac) = (t.floor() as usize, t.fract());
        let high = (low + 1).min(last);
        self.train_sigmas[low] * (1.0 - frac) + self.train_sigmas[high] * frac
    }
}

impl Schedule {
    /// The clean latents noised to the first step's level.
    pub(crate) fn noised(&self, clean: &Tensor, noise: &Tensor) -> Result<Tensor> {
        Ok((clean + (noise * self.sigmas[0])?)?)
    }

    /// The UNet's input at step `i`: the latents scaled to unit variance.
    pub(crate) fn scaled(&self, latents: &Tensor, i: usize) -> Result<Tensor> {
        let s = self.sigmas[i];
        Ok((latents / (s * s + 1.0).sqrt())?)
    }

    /// One Euler step from step `i` to the next level, given the UNet's prediction.
    pub(crate) fn step(&self, predicted: &Tensor, i: usize, latents: &Tensor) -> Result<Tensor> {
        let (sigma, next) = (self.sigmas[i], self.sigmas[i + 1]);
        // The derivative (x − x̂₀) / σ: the prediction itself for noise; from the velocity,
        // x̂₀ = −σ/√(σ²+1)·v + x/(σ²+1).
        let derivative = match self.prediction {
            Prediction::Epsilon => predicted.clone(),
            Prediction::Velocity => {
                let s2 = sigma * sigma + 1.0;
                let clean = ((predicted * (-sigma / s2.sqrt()))? + (latents / s2)?)?;
                ((latents - clean)? / sigma)?
            }
        };
        Ok((latents + (derivative * (next - sigma))?)?)
    }
}

/// `n` evenly spaced f32 values from `start` to `end` inclusive (torch.linspace in f32).
fn linspace(start: f64, end: f64, n: usize) -> Vec<f32> {
    if n == 1 {
        return vec![start as f32];
    }
    let step = (end - start) / (n - 1) as f64;
    (0..n).map(|i| (start + step * i as f64) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn euler(spacing: &str, offset: usize) -> Euler {
        let file: SchedulerFile = serde_json::from_value(serde_json::json!({
            "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
            "timestep_spacing": spacing, "steps_offset": offset,
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        Euler::new(file).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn timesteps_are_spaced_as_diffusers_spaces_them() -> Result<()> {
        // diffusers 0.31: EulerDiscreteScheduler.set_timesteps(4) with each spacing.
        assert_eq!(
            euler("trailing", 1).timesteps(4)?,
            [999.0, 749.0, 499.0, 249.0]
        );
        assert_eq!(
            euler("leading", 1).timesteps(4)?,
            [751.0, 501.0, 251.0, 1.0]
        );
        assert_eq!(
            euler("linspace", 0).timesteps(4)?,
            [999.0, 666.0, 333.0, 0.0]
        );
        assert_eq!(euler("trailing", 1).timesteps(1)?, [999.0]);
        Ok(())
    }

    #[test]
    fn img2img_runs_the_last_part_of_the_schedule() -> Result<()> {
        let e = euler("trailing", 1);
        let s = e.img2img(4, 0.5)?;
        assert_eq!(s.timesteps, [499.0, 249.0]);
        assert_eq!(s.sigmas.len(), 3);
        assert_eq!(s.sigmas[2], 0.0);
        assert!(s.sigmas[0] > s.sigmas[1]);
        // Strength 1 runs every step; too little strength runs none and says so.
        assert_eq!(e.img2img(4, 1.0)?.timesteps.len(), 4);
        assert!(e.img2img(4, 0.2).is_err());
        assert!(e.img2img(0, 1.0).is_err());
        assert!(e.img2img(1001, 1.0).is_err());
        Ok(())
    }
}
