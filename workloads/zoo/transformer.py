"""Transformer encoders: ViT / DeiT (timm layout) and BERT-base (Hugging Face layout).

Modelling choices shared by both, each because of the op set we have:

- q, k, v are three D->D linears. timm's ViT has one fused ``attn.qkv`` (D->3D) whose weight is
  the row-concatenation [W_q; W_k; W_v], then unbinds it into q, k, v with views. Our ops have no
  slice/unbind, so one qkv tensor could not feed the two attention matmuls separately; three
  linears have exactly the same MACs and parameters (Hugging Face's ViT and BERT are built this
  way: ``query``/``key``/``value``).
- Heads are split by a free reshape (N, L, D) -> (N, L, H, d) and a transpose that copies
  (N, H, L, d) (for k straight to (N, H, d, L)), and merged by a copying transpose back and a
  free reshape: the copies are the ``permute(...).contiguous()`` data movement of the reference
  code (batched GEMM kernels want contiguous operands).
- Attention is two batched `matmul` ops per layer, Q K^T of (N, H, L, d) @ (N, H, d, L) and
  P V of (N, H, L, L) @ (N, H, L, d). The 1/sqrt(d) scale is not an op: at inference it folds
  into W_q (a learned scalar would also add a parameter the reference models do not have).
- Taking token 0 (class token, [CLS]) uses `first_token` (a 1x1 strided pool over a view).
- Dropouts are omitted (identities at inference); so is BERT's additive attention mask (all
  zeros for an unpadded batch).
"""

from __future__ import annotations

from workloads.errors import SpecError
from workloads.network import Network, NetworkBuilder
from workloads.ops import Activation, NormKind
from workloads.zoo._common import check_int, check_positive, first_token


def _split_heads(b: NetworkBuilder, x: str, heads: int, perm: tuple[int, ...], name: str) -> str:
    n, length, dim = b.shape(x)
    view = b.reshape(x, (n, length, heads, dim // heads), copy=False, name=f"{name}.view")
    return b.transpose(view, perm, copy=True, name=name)


def _self_attention(
    b: NetworkBuilder, x: str, heads: int, *, prefix: str, q: str, k: str, v: str, out: str
) -> str:
    """Multi-head self-attention on (N, L, D); `q`, `k`, `v`, `out` name the four linears."""
    n, length, dim = b.shape(x)
    query = _split_heads(b, b.linear(x, dim, name=q), heads, (0, 2, 1, 3), f"{q}.heads")
    key = _split_heads(b, b.linear(x, dim, name=k), heads, (0, 2, 3, 1), f"{k}.heads")
    value = _split_heads(b, b.linear(x, dim, name=v), heads, (0, 2, 1, 3), f"{v}.heads")
    scores = b.matmul(query, key, name=f"{prefix}.matmul_qk")  # (N, H, L, L)
    probs = b.softmax(scores, axis=-1, name=f"{prefix}.softmax")
    context = b.matmul(probs, value, name=f"{prefix}.matmul_av")  # (N, H, L, d)
    context = b.transpose(context, (0, 2, 1, 3), copy=True, name=f"{prefix}.merge_heads")
    context = b.reshape(context, (n, length, dim), copy=False, name=f"{prefix}.merge_heads.view")
    return b.linear(context, dim, name=out)


def _prepend_class_token(b: NetworkBuilder, x: str) -> str:
    """(N, L, D) -> (N, L + 1, D) with a learned (1, 1, D) class token, expanded over the batch."""
    dim = b.shape(x)[2]
    return b.concat([x], axis=1, weight_shape=(1, 1, dim), name="cls_token")


def vit(
    *,
    batch: int = 1,
    resolution: int = 224,
    patch: int = 16,
    dim: int = 768,
    depth: int = 12,
    heads: int = 12,
    mlp_ratio: float = 4.0,
    num_classes: int = 1000,
    name: str = "vit",
) -> Network:
    """Vision Transformer, timm layout (Dosovitskiy et al., "ViT", arXiv 2010.11929).

    Patch embedding is a conv with kernel = stride = `patch` (pixels) and bias; then a class
    token, a learned position embedding, `depth` pre-LN blocks (LayerNorm, attention with
    `heads` heads, residual; LayerNorm, MLP D -> int(D * mlp_ratio) -> D with GELU, residual),
    a final LayerNorm, the class token, and a linear head (omitted when num_classes = 0, output
    then (batch, dim)). Input "image" (batch, 3, resolution, resolution); output
    (batch, num_classes). Raises SpecError when dim is not divisible by heads, resolution is
    not a positive multiple of patch, or a count is out of range.
    """
    if not isinstance(name, str) or not name:
        raise SpecError(f"vit: 'name' must be a non-empty string (got {name!r})")
    model = name
    check_int(model, "batch", batch, 1)
    check_int(model, "patch", patch, 1)
    check_int(model, "dim", dim, 1)
    check_int(model, "depth", depth, 1)
    check_int(model, "heads", heads, 1)
    check_int(model, "num_classes", num_classes, 0)
    mlp_ratio = check_positive(model, "mlp_ratio", mlp_ratio)
    if dim % heads:
        raise SpecError(f"{model}: 'dim' {dim} must be divisible by 'heads' {heads}")
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < patch \
            or resolution % patch:
        raise SpecError(
            f"{model}: 'resolution' must be a positive multiple of 'patch' {patch} pixels "
            f"(got {resolution!r})"
        )
    hidden = int(dim * mlp_ratio)  # timm: mlp_hidden_dim = int(embed_dim * mlp_ratio)
    if hidden < 1:
        raise SpecError(f"{model}: 'mlp_ratio' {mlp_ratio} gives an MLP of {hidden} channels")

    b = NetworkBuilder(
        model,
        description=f"ViT patch {patch}, dim {dim}, depth {depth}, {heads} heads, "
        f"{resolution}x{resolution}, batch {batch}, {num_classes} classes",
    )
    x = b.input("image", (batch, 3, resolution, resolution))
    x = b.conv2d(x, dim, patch, stride=patch, bias=True, name="patch_embed.proj")
    tokens = (resolution // patch) ** 2
    x = b.reshape(x, (batch, dim, tokens), copy=False, name="patch_embed.flatten")
    x = b.transpose(x, (0, 2, 1), copy=True, name="patch_embed.transpose")  # (N, L, D)
    x = _prepend_class_token(b, x)
    x = b.add(x, weight_shape=(1, tokens + 1, dim), name="pos_embed")
    for i in range(depth):
        p = f"blocks.{i}"
        h = b.norm(x, NormKind.LAYER, name=f"{p}.norm1")
        h = _self_attention(b, h, heads, prefix=f"{p}.attn", q=f"{p}.attn.q", k=f"{p}.attn.k",
                            v=f"{p}.attn.v", out=f"{p}.attn.proj")
        x = b.add(h, x, name=f"{p}.add_attn")
        h = b.norm(x, NormKind.LAYER, name=f"{p}.norm2")
        h = b.linear(h, hidden, name=f"{p}.mlp.fc1")
        h = b.act(h, Activation.GELU, name=f"{p}.mlp.act")
        h = b.linear(h, dim, name=f"{p}.mlp.fc2")
        x = b.add(h, x, name=f"{p}.add_mlp")
    x = b.norm(x, NormKind.LAYER, name="norm")
    x = first_token(b, x, name="token_pool")  # timm global_pool="token": x[:, 0]
    if num_classes:
        b.linear(x, num_classes, name="head")
    return b.build()


def deit_tiny(*, batch: int = 1, resolution: int = 224, num_classes: int = 1000) -> Network:
    """DeiT-Ti: ViT dim 192, 3 heads, depth 12, patch 16 (Touvron et al., "DeiT", arXiv 2012.12877).

    See `vit` for the layout, arguments and errors.
    """
    return vit(batch=batch, resolution=resolution, patch=16, dim=192, depth=12, heads=3,
               num_classes=num_classes, name="deit-tiny")


def deit_small(*, batch: int = 1, resolution: int = 224, num_classes: int = 1000) -> Network:
    """DeiT-S: ViT dim 384, 6 heads, depth 12, patch 16 (Touvron et al., "DeiT", arXiv 2012.12877).

    See `vit` for the layout, arguments and errors.
    """
    return vit(batch=batch, resolution=resolution, patch=16, dim=384, depth=12, heads=6,
               num_classes=num_classes, name="deit-small")


def deit_base(*, batch: int = 1, resolution: int = 224, num_classes: int = 1000) -> Network:
    """DeiT-B: ViT dim 768, 12 heads, depth 12, patch 16 (Touvron et al., "DeiT", arXiv 2012.12877).

    See `vit` for the layout, arguments and errors.
    """
    return vit(batch=batch, resolution=resolution, patch=16, dim=768, depth=12, heads=12,
               num_classes=num_classes, name="deit-base")


_BERT_HIDDEN = 768
_BERT_LAYERS = 12
_BERT_HEADS = 12
_BERT_FFN = 3072
_BERT_MAX_POSITIONS = 512
_BERT_TOKEN_TYPES = 2


def bert_base(
    *, batch: int = 1, seq_len: int = 128, vocab: int = 30522, num_classes: int = 0
) -> Network:
    """BERT-base encoder with pooler, Hugging Face layout (Devlin et al., "BERT", arXiv 1810.04805).

    12 post-LN layers, hidden 768, 12 heads, FFN 3072 with GELU, 512 positions; see `bert` for
    the layout, inputs, outputs and errors.
    """
    return bert(batch=batch, seq_len=seq_len, vocab=vocab, num_classes=num_classes)


def bert(
    *,
    batch: int = 1,
    seq_len: int = 128,
    vocab: int = 30522,
    hidden: int = _BERT_HIDDEN,
    layers: int = _BERT_LAYERS,
    heads: int = _BERT_HEADS,
    ffn: int = _BERT_FFN,
    max_positions: int = _BERT_MAX_POSITIONS,
    num_classes: int = 0,
) -> Network:
    """A BERT-style encoder with pooler, Hugging Face layout (defaults: BERT-base).

    `layers` post-LN layers of width `hidden` with `heads` heads and a GELU FFN of `ffn`.
    Inputs "input_ids" and "token_type_ids" (batch, seq_len) and "position_ids" (1, seq_len)
    (Hugging Face's position-id buffer, broadcast over the batch) feed word (vocab x hidden),
    token-type (2 x hidden) and position (max_positions x hidden) embedding lookups. The pooler
    is a hidden -> hidden dense layer with tanh on the [CLS] token. Outputs: (last hidden state
    (batch, seq_len, hidden), pooled (batch, hidden)), or the logits (batch, num_classes) of a
    linear classifier when num_classes > 0. Raises SpecError for seq_len outside
    1..max_positions, hidden not divisible by heads, or a count out of range.
    """
    model = "bert-base" if (hidden, layers, heads, ffn, max_positions) == (
        _BERT_HIDDEN, _BERT_LAYERS, _BERT_HEADS, _BERT_FFN, _BERT_MAX_POSITIONS) else "bert"
    check_int(model, "batch", batch, 1)
    for field, value in (("hidden", hidden), ("layers", layers), ("heads", heads), ("ffn", ffn),
                         ("max_positions", max_positions)):
        check_int(model, field, value, 1)
    if hidden % heads:
        raise SpecError(f"{model}: 'hidden' {hidden} must be divisible by 'heads' {heads}")
    check_int(model, "seq_len", seq_len, 1)
    if seq_len > max_positions:
        raise SpecError(
            f"{model}: 'seq_len' must be <= {max_positions}, the number of learned "
            f"positions (got {seq_len})"
        )
    check_int(model, "vocab", vocab, 1)
    check_int(model, "num_classes", num_classes, 0)
    d = hidden
    b = NetworkBuilder(
        model,
        description=f"BERT (Hugging Face) hidden {d}, {layers} layers, {heads} heads, ffn {ffn}, "
        f"seq_len {seq_len}, batch {batch}, "
        f"vocab {vocab}, {num_classes or 'no'} classifier classes",
    )
    input_ids = b.input("input_ids", (batch, seq_len))
    token_type_ids = b.input("token_type_ids", (batch, seq_len))
    position_ids = b.input("position_ids", (1, seq_len))
    words = b.embedding(input_ids, vocab, d, name="embeddings.word_embeddings")
    types = b.embedding(token_type_ids, _BERT_TOKEN_TYPES, d,
                        name="embeddings.token_type_embeddings")
    x = b.add(words, types, name="embeddings.add_token_type")
    positions = b.embedding(position_ids, max_positions, d,
                            name="embeddings.position_embeddings")
    x = b.add(x, positions, name="embeddings.add_position")
    x = b.norm(x, NormKind.LAYER, name="embeddings.LayerNorm")
    for i in range(layers):
        p = f"encoder.layer.{i}"
        h = _self_attention(
            b, x, heads, prefix=f"{p}.attention.self", q=f"{p}.attention.self.query",
            k=f"{p}.attention.self.key", v=f"{p}.attention.self.value",
            out=f"{p}.attention.output.dense",
        )
        h = b.add(h, x, name=f"{p}.attention.output.add")
        x = b.norm(h, NormKind.LAYER, name=f"{p}.attention.output.LayerNorm")
        h = b.linear(x, ffn, name=f"{p}.intermediate.dense")
        h = b.act(h, Activation.GELU, name=f"{p}.intermediate.intermediate_act_fn")
        h = b.linear(h, d, name=f"{p}.output.dense")
        h = b.add(h, x, name=f"{p}.output.add")
        x = b.norm(h, NormKind.LAYER, name=f"{p}.output.LayerNorm")
    sequence_output = x
    pooled = first_token(b, x, name="pooler.first_token")
    pooled = b.linear(pooled, d, name="pooler.dense")
    # The pooler's activation is tanh, which `Activation` lacks. SIGMOID is the closest kind:
    # tanh(x) = 2 * sigmoid(2x) - 1, the same exponential-based per-element cost class.
    pooled = b.act(pooled, Activation.SIGMOID, name="pooler.activation")
    if num_classes:
        return b.build([b.linear(pooled, num_classes, name="classifier")])
    return b.build([sequence_output, pooled])
