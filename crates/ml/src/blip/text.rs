//! BLIP's text models: a post-norm BERT whose layers add cross-attention to a memory — the
//! decoder (`text_decoder`, with a language-model head) attends to the image's tokens or to an
//! encoded question; the question encoder (`text_encoder`, answering checkpoints) attends to
//! the image. Decoding keeps each layer's self-attention keys and values, and computes the
//! memory's cross-attention keys and values once.

use candle_core::{D, Device, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Module, VarBuilder};

use super::config::TextConfig;
use crate::kernels::sgemm::Precision;
use crate::nn::{Activation, Linear, attend};

/// A BERT stack whose layers also attend to a memory (the image's tokens, or the encoded
/// question): `text_decoder.bert` or `text_encoder`.
#[derive(Debug, Clone)]
pub(crate) struct Bert {
    words: Embedding,
    positions: Tensor,
    norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
}

/// The captioning (and answering) decoder: the BERT stack and its language-model head.
#[derive(Debug, Clone)]
pub(crate) struct TextDecoder {
    bert: Bert,
    head: Head,
}
#[derive(Debug, Clone)]
struct Layer {
    attention: BertAttention,
    cross: BertAttention,
    intermediate: Linear,
    output: Linear,
    norm: LayerNorm,
    activation: Activation,
}

/// `LN(x + dense(attention(query(x), key(y), value(y))))`.
#[derive(Debug, Clone)]
struct BertAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    dense: Linear,
    norm: LayerNorm,
}

/// `cls.predictions`: dense, activation, LayerNorm, then the vocabulary projection.
#[derive(Debug, Clone)]
struct Head {
    transform: Linear,
    norm: LayerNorm,
    decoder: Linear,
    activation: Activation,
}

/// One caption's decoding state: the image's cross-attention keys and values per layer, and
/// the self-attention keys and values of the tokens so far.
#[derive(Debug)]
pub(crate) struct Decoding {
    cross: Vec<(Tensor, Tensor)>,
    past: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl Bert {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        for layer in &mut self.layers {
            for attention in [&mut layer.attention, &mut layer.cross] {
                for linear in [
                    &mut attention.query,
                    &mut attention.key,
                    &mut attention.value,
                    &mut attention.dense,
                ] {
                    linear.set_precision(precision)?;
                }
            }
            layer.intermediate.set_precision(precision)?;
            layer.output.set_precision(precision)?;
        }
        Ok(())
    }

    /// The stack under `vb` (`text_decoder.bert` or `text_encoder`).
    pub(crate) fn load(vb: &VarBuilder, c: &TextConfig) -> Result<Self> {
        let activation = Activation::parse(&c.hidden_act).map_err(candle_core::Error::wrap)?;
        let (h, eps) = (c.hidden_size, c.layer_norm_eps);
        let emb = vb.pp("embeddings");
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                Ok(Layer {
                    attention: BertAttention::load(&l.pp("attention"), h, h, eps)?,
                    cross: BertAttention::load(
                        &l.pp("crossattention"),
                        h,
                        c.encoder_hidden_size,
                        eps,
                    )?,
                    intermediate: Linear::load(
                        &l.pp("intermediate.dense"),
                        h,
                        c.intermediate_size,
                        true,
                    )?,
                    output: Linear::load(&l.pp("output.dense"), c.intermediate_size, h, true)?,
                    norm: candle_nn::layer_norm(h, eps, l.pp("output.LayerNorm"))?,
                    activation,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            words: candle_nn::embedding(c.vocab_size, h, emb.pp("word_embeddings"))?,
            positions: emb.get((c.max_position_embeddings, h), "position_embeddings.weight")?,
            norm: candle_nn::layer_norm(h, eps, emb.pp("LayerNorm"))?,
            layers,
            heads: c.num_attention_heads,
        })
    }

    /// The longest sequence the position table allows.
    pub(crate) fn max_len(&self) -> usize {
        self.positions.dim(0).unwrap_or(0)
    }

    /// Each layer's cross-attention keys and values of `memory` (`[1, tokens, width]`).
    pub(crate) fn memory(&self, memory: &Tensor) -> Result<Vec<(Tensor, Tensor)>> {
        self.layers
            .iter()
            .map(|l| {
                Ok((
                    self.split(&l.cross.key.forward(memory)?)?,
                    self.split(&l.cross.value.forward(memory)?)?,
                ))
            })
            .collect()
    }

    /// Every token's state, `[1, S, H]`, with bidirectional self-attention: the question
    /// encoder.
    pub(crate) fn encode(&self, ids: &[u32], memory: &[(Tensor, Tensor)]) -> Result<Tensor> {
        let mut past = vec![None; self.layers.len()];
        self.run(ids, memory, &mut past, 0, false)
    }

    /// `ids` at positions `start..` through every layer, their keys and values appended to
    /// `past`; with `causal`, a token sees no later one.
    fn run(
        &self,
        ids: &[u32],
        memory: &[(Tensor, Tensor)],
        past: &mut [Option<(Tensor, Tensor)>],
        start: usize,
        causal: bool,
    ) -> Result<Tensor> {
        let s = ids.len();
        if start + s > self.max_len() {
            candle_core::bail!(
                "{} tokens exceed the text model's {} positions",
                start + s,
                self.max_len()
            );
        }
        let device = self.positions.device();
        let ids = Tensor::new(ids, device)?.unsqueeze(0)?;
        let x = self
            .words
            .forward(&ids)?
            .broadcast_add(&self.positions.narrow(0, start, s)?)?;
        let mut x = self.norm.forward(&x)?;
        let mask = if causal {
            causal_mask(start, s, device)?
        } else {
            None
        };
        for ((layer, past), (mk, mv)) in self.layers.iter().zip(past.iter_mut()).zip(memory) {
            let a = &layer.attention;
            let (k, v) = (
                self.split(&a.key.forward(&x)?)?,
                self.split(&a.value.forward(&x)?)?,
            );
            let (k, v) = match past.take() {
                Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
                None => (k, v),
            };
            let attended = attend(&self.query(a, &x)?, &k, &v, mask.as_ref())?;
            *past = Some((k, v));
            x = a.norm.forward(&(&x + a.dense.forward(&attended)?)?)?;

            let c = &layer.cross;
            let attended = attend(&self.query(c, &x)?, mk, mv, None)?;
            x = c.norm.forward(&(&x + c.dense.forward(&attended)?)?)?;

            let hidden = layer.intermediate.forward_activated(&x, layer.activation)?;
            x = layer
                .norm
                .forward(&(&x + layer.output.forward(&hidden)?)?)?;
        }
        Ok(x)
    }

    /// The scaled query heads of `x`.
    fn query(&self, a: &BertAttention, x: &Tensor) -> Result<Tensor> {
        let q = self.split(&a.query.forward(x)?)?;
        let head_dim = q.dim(D::Minus1)?;
        q * (head_dim as f64).powf(-0.5)
    }

    /// `[1, S, H]` → `[1, heads, S, H / heads]`, contiguous.
    fn split(&self, x: &Tensor) -> Result<Tensor> {
        let (b, s, h) = x.dims3()?;
        x.reshape((b, s, self.heads, h / self.heads))?
            .transpose(1, 2)?
            .contiguous()
    }
}

impl TextDecoder {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.bert.set_precision(precision)?;
        self.head.transform.set_precision(precision)?;
        self.head.decoder.set_precision(precision)
    }

    pub(crate) fn load(vb: &VarBuilder, c: &TextConfig) -> Result<Self> {
        let activation = Activation::parse(&c.hidden_act).map_err(candle_core::Error::wrap)?;
        let h = c.hidden_size;
        let predictions = vb.pp("text_decoder.cls.predictions");
        let decoder = Linear::from_parts(
            predictions.get((c.vocab_size, h), "decoder.weight")?,
            Some(predictions.get(c.vocab_size, "bias")?),
        )?;
        Ok(Self {
            bert: Bert::load(&vb.pp("text_decoder.bert"), c)?,
            head: Head {
                transform: Linear::load(&predictions.pp("transform.dense"), h, h, true)?,
                norm: candle_nn::layer_norm(
                    h,
                    c.layer_norm_eps,
                    predictions.pp("transform.LayerNorm"),
                )?,
                decoder,
                activation,
            },
        })
    }

    /// The longest sequence the position table allows.
    pub(crate) fn max_len(&self) -> usize {
        self.bert.max_len()
    }

    /// A decoding state attending to `memory` (`[1, tokens, width]`: the image, or the encoded
    /// question).
    pub(crate) fn start(&self, memory: &Tensor) -> Result<Decoding> {
        Ok(Decoding {
            cross: self.bert.memory(memory)?,
            past: vec![None; self.bert.layers.len()],
            len: 0,
        })
    }

    /// Feeds `ids` (the prompt at first, then one token at a time) and returns the logits of
    /// the last one, `[vocab]`.
    pub(crate) fn step(&self, state: &mut Decoding, ids: &[u32]) -> Result<Tensor> {
        let x = self
            .bert
            .run(ids, &state.cross, &mut state.past, state.len, true)?;
        state.len += ids.len();
        let last = x.narrow(1, ids.len() - 1, 1)?;
        let h = self
            .head
            .transform
            .forward_activated(&last, self.head.activation)?;
        self.head
            .decoder
            .forward(&self.head.norm.forward(&h)?)?
            .flatten_all()
    }
}

impl BertAttention {
    fn load(vb: &VarBuilder, hidden: usize, keys: usize, eps: f64) -> Result<Self> {
        let me = vb.pp("self");
        Ok(Self {
            query: Linear::load(&me.pp("query"), hidden, hidden, true)?,
            key: Linear::load(&me.pp("key"), keys, hidden, true)?,
            value: Linear::load(&me.pp("value"), keys, hidden, true)?,
            dense: Linear::load(&vb.pp("output.dense"), hidden, hidden, true)?,
            norm: candle_nn::layer_norm(hidden, eps, vb.pp("output.LayerNorm"))?,
        })
    }
}

/// For `s` new tokens after `past` ones: `[s, past + s]`, −∞ where a token would see a later
/// one; `None` for a single token (it sees everything).
fn causal_mask(past: usize, s: usize, device: &Device) -> Result<Option<Tensor>> {
    if s == 1 {
        return Ok(None);
    }
    let mask: Vec<f32> = (0..s)
        .flat_map(|i| {
            (0..past + s).map(move |j| if j > past + i { f32::NEG_INFINITY } else { 0.0 })
        })
        .collect();
    Ok(Some(Tensor::from_vec(mask, (s, past + s), device)?))
}
