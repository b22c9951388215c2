//! PaliGemma's language model (`language_model.model`): Gemma — RMSNorm with `(1 + w)`,
//! multi-query attention with rotary positions, a GeGLU MLP (tanh GELU), embeddings scaled by
//! √width and tied to the output projection. The whole prefix (image and prompt) attends
//! bidirectionally; each generated token sees everything before it through the key-value cache.

use candle_core::{D, DType, Device, Result, Tensor};
use candle_nn::VarBuilder;

use super::config::GemmaConfig;
use crate::kernels::sgemm::Precision;
use crate::nn::{Activation, Linear, attend};

#[derive(Debug, Clone)]
pub(crate) struct Gemma {
    embed: Tensor,
    /// The vocabulary projection, tied to `embed`.
    head: Linear,
    layers: Vec<Layer>,
    norm: RmsNorm,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    cos: Tensor,
    sin: Tensor,
    activation: Activation,
}

#[derive(Debug, Clone)]
struct Layer {
    input_norm: RmsNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    post_norm: RmsNorm,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// `x / rms(x) · (1 + w)`.
#[derive(Debug, Clone)]
struct RmsNorm {
    scale: Tensor,
    eps: f64,
}

/// One decode's key-value cache, per layer.
#[derive(Debug)]
pub(crate) struct Cache {
    past: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl Gemma {
    /// `vb`: the `language_model.model` prefix.
    pub(crate) fn load(vb: &VarBuilder, c: &GemmaConfig) -> Result<Self> {
        let activation = Activation::parse(
            c.hidden_activation
                .as_deref()
                .unwrap_or("gelu_pytorch_tanh"),
        )
        .map_err(candle_core::Error::wrap)?;
        let (h, hd) = (c.hidden_size, c.head_dim);
        let norm = |vb: VarBuilder| -> Result<RmsNorm> {
            Ok(RmsNorm {
                scale: (vb.get(h, "weight")? + 1.0)?,
                eps: c.rms_norm_eps,
            })
        };
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("layers.{i}"));
                let a = l.pp("self_attn");
                let m = l.pp("mlp");
                Ok(Layer {
                    input_norm: norm(l.pp("input_layernorm"))?,
                    q: Linear::load(&a.pp("q_proj"), h, c.num_attention_heads * hd, false)?,
                    k: Linear::load(&a.pp("k_proj"), h, c.num_key_value_heads * hd, false)?,
                    v: Linear::load(&a.pp("v_proj"), h, c.num_key_value_heads * hd, false)?,
                    o: Linear::load(&a.pp("o_proj"), c.num_attention_heads * hd, h, false)?,
                    post_norm: norm(l.pp("post_attention_layernorm"))?,
                    gate: Linear::load(&m.pp("gate_proj"), h, c.intermediate_size, false)?,
                    up: Linear::load(&m.pp("up_proj"), h, c.intermediate_size, false)?,
                    down: Linear::load(&m.pp("down_proj"), c.intermediate_size, h, false)?,
                })
            })
            .collect::<Result<_>>()?;
        let (cos, sin) = rope_tables(hd, c.max_position_embeddings, c.rope_theta, vb.device())?;
        let embed = vb.get((c.vocab_size, h), "embed_tokens.weight")?;
        Ok(Self {
            head: Linear::from_parts(embed.clone(), None)?,
            embed,
            layers,
            norm: norm(vb.pp("norm"))?,
            heads: c.num_attention_heads,
            kv_heads: c.num_key_value_heads,
            head_dim: hd,
            cos,
            sin,
            activation,
        })
    }

    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        for layer in &mut self.layers {
            for linear in [
                &mut layer.q,
                &mut layer.k,
                &mut layer.v,
                &mut layer.o,
                &mut layer.gate,
                &mut layer.up,
                &mut layer.down,
            ] {
                linear.set_precision(precision)?;
            }
        }
        self.head.set_precision(precision)
    }

    /// The token embeddings of `ids` (unscaled), `[1, S, H]`.
    pub(crate) fn embed(&self, ids: &[u32]) -> Result<Tensor> {
        let ids = Tensor::new(ids, self.embed.device())?;
        self.embed.index_select(&ids, 0)?.unsqueeze(0)
    }

    /// The longest sequence the rotary tables cover.
    pub(crate) fn max_len(&self) -> usize {
        self.cos.dim(0).unwrap_or(0)
    }

    pub(crate) fn cache(&self) -> Cache {
        Cache {
            past: vec![None; self.layers.len()],
            len: 0,
        }
    }

    /// Runs `embeds` (`[1, S, H]`, already scaled by √H) after the cached tokens; every new
    /// token sees every cached one and every other new one (the prefix is bidirectional, and
    /// decoding feeds one token at a time). Returns the logits of the last one, `[vocab]`.
    pub(crate) fn forward(&self, embeds: &Tensor, cache: &mut Cache) -> Result<Tensor> {
        let s = embeds.dim(1)?;
        if cache.len + s > self.max_len() {
            candle_core::bail!(
                "{} tokens exceed the model's {} positions",
                cache.len + s,
                self.max_len()
            );
        }
        let cos = self.cos.narrow(0, cache.len, s)?;
        let sin = self.sin.narrow(0, cache.len, s)?;
        let mut x = embeds.clone();
        for (layer, past) in self.layers.iter().zip(cache.past.iter_mut()) {
            let h = layer.input_norm.forward(&x)?;
            let heads = |t: Tensor, n: usize| -> Result<Tensor> {
                t.reshape((1, s, n, self.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = heads(layer.q.forward(&h)?, self.heads)?;
            let k = heads(layer.k.forward(&h)?, self.kv_heads)?;
            let v = heads(layer.v.forward(&h)?, self.kv_heads)?;
            let q = candle_nn::rotary_emb::rope(&q, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope(&k, &cos, &sin)?;
            let (k, v) = match past.take() {
                Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
                None => (k, v),
            };
            *past = Some((k.clone(), v.clone()));
            // Multi-query: every query head reads the same key-value heads.
            let groups = self.heads / self.kv_heads;
            let (k, v) = (repeat_kv(&k, groups)?, repeat_kv(&v, groups)?);
            let q = (q * (self.head_dim as f64).powf(-0.5))?;
            x = (&x + layer.o.forward(&attend(&q, &k, &v, None)?)?)?;
            let h = layer.post_norm.forward(&x)?;
            let gated =
                (layer.gate.forward_activated(&h, self.activation)? * layer.up.forward(&h)?)?;
            x = (&x + layer.down.forward(&gated)?)?;
        }
        cache.len += s;
        let last = self.norm.forward(&x.narrow(1, s - 1, 1)?)?;
        self.head.forward(&last)?.flatten_all()
    }
}

impl RmsNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let rms = (x.sqr()?.mean_keepdim(D::Minus1)? + self.eps)?.sqrt()?;
        x.broadcast_div(&rms)?.broadcast_mul(&self.scale)
    }
}

/// `[1, kv, S, d]` → `[1, kv·groups, S, d]`, each key-value head repeated for its queries.
fn repeat_kv(x: &Tensor, groups: usize) -> Result<Tensor> {
    if groups == 1 {
        return Ok(x.clone());
    }
    let (b, kv, s, d) = x.dims4()?;
    x.unsqueeze(2)?
        .broadcast_as((b, kv, groups, s, d))?
        .reshape((b, kv * groups, s, d))
}

/// Rotary cos / sin tables, `[positions, head_dim / 2]`, in f32.
fn rope_tables(
    head_dim: usize,
    positions: usize,
    theta: f64,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let inv: Vec<f32> = (0..head_dim / 2)
        .map(|i| (1.0 / theta.powf(2.0 * i as f64 / head_dim as f64)) as f32)
        .collect();
    let inv = Tensor::new(inv.as_slice(), device)?.unsqueeze(0)?;
    let pos = Tensor::arange(0u32, positions as u32, device)?
        .to_dtype(DType::F32)?
        .unsqueeze(1)?;
    let angles = pos.broadcast_mul(&inv)?;
    Ok((angles.cos()?, angles.sin()?))
}
