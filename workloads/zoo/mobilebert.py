"""MobileBERT (Sun et al., arXiv 2004.02984), Hugging Face layout: registered as `mobilebert`,
and the held-out transformer of the mobile validation study (the paper's abstract reports 62 ms
on a Pixel 4).

The layout follows Hugging Face's `modeling_mobilebert.py` with the defaults of its
`configuration_mobilebert.py`, which are google/mobilebert-uncased's `config.json` (vocabulary
30522, embedding 128 with trigram input, hidden 512, 24 layers, 4 heads, intra-bottleneck 128
shared by key and query, value from the 512-wide hidden state, 4 stacked feed-forward networks
of 512 with ReLU, NoNorm). NoNorm is an
elementwise scale and shift (a `mul` and an `add` with learned (1, 1, D) tensors), which is
what the paper introduced it for: no reduction, unlike LayerNorm. The trigram input
concatenates the embedding with its two one-token shifts (the shifts are views: the concat is
the copy). The pooler of the released checkpoint takes the [CLS] token without a dense layer
(`classifier_activation=False`), so the network ends at the last hidden state.
"""

from __future__ import annotations

from workloads.errors import SpecError
from workloads.network import Network, NetworkBuilder
from workloads.ops import Activation

VOCAB = 30522
EMBEDDING = 128
HIDDEN = 512
BOTTLENECK = 128
LAYERS = 24
HEADS = 4
INTERMEDIATE = 512
FEED_FORWARDS = 4
MAX_POSITIONS = 512


def _no_norm(b: NetworkBuilder, x: str, name: str) -> str:
    dim = b.shape(x)[-1]
    x = b.mul(x, weight_shape=(1, 1, dim), name=f"{name}.weight")
    return b.add(x, weight_shape=(1, 1, dim), name=f"{name}.bias")


def _heads(b: NetworkBuilder, x: str, perm: tuple[int, ...], name: str) -> str:
    n, length, dim = b.shape(x)
    view = b.reshape(x, (n, length, HEADS, dim // HEADS), copy=False, name=f"{name}.view")
    return b.transpose(view, perm, copy=True, name=name)


def _layer(b: NetworkBuilder, x: str, p: str) -> str:
    layer_input = _no_norm(b, b.linear(x, BOTTLENECK, name=f"{p}.bottleneck.input.dense"),
                           f"{p}.bottleneck.input.LayerNorm")
    shared = _no_norm(b, b.linear(x, BOTTLENECK, name=f"{p}.bottleneck.attention.dense"),
                      f"{p}.bottleneck.attention.LayerNorm")
    a = f"{p}.attention.self"
    q = _heads(b, b.linear(shared, BOTTLENECK, name=f"{a}.query"), (0, 2, 1, 3), f"{a}.query.heads")
    k = _heads(b, b.linear(shared, BOTTLENECK, name=f"{a}.key"), (0, 2, 3, 1), f"{a}.key.heads")
    v = _heads(b, b.linear(x, BOTTLENECK, name=f"{a}.value"), (0, 2, 1, 3), f"{a}.value.heads")
    probs = b.softmax(b.matmul(q, k, name=f"{a}.matmul_qk"), name=f"{a}.softmax")
    context = b.transpose(b.matmul(probs, v, name=f"{a}.matmul_av"), (0, 2, 1, 3),
                          name=f"{a}.merge_heads")
    n, length = b.shape(x)[:2]
    context = b.reshape(context, (n, length, BOTTLENECK), name=f"{a}.merge_heads.view")
    h = b.add(b.linear(context, BOTTLENECK, name=f"{p}.attention.output.dense"), layer_input,
              name=f"{p}.attention.output.add")
    h = _no_norm(b, h, f"{p}.attention.output.LayerNorm")
    for i in range(FEED_FORWARDS - 1):
        f = f"{p}.ffn.{i}"
        y = b.act(b.linear(h, INTERMEDIATE, name=f"{f}.intermediate.dense"), Activation.RELU,
                  name=f"{f}.intermediate.act")
        y = b.add(b.linear(y, BOTTLENECK, name=f"{f}.output.dense"), h, name=f"{f}.output.add")
        h = _no_norm(b, y, f"{f}.output.LayerNorm")
    y = b.act(b.linear(h, INTERMEDIATE, name=f"{p}.intermediate.dense"), Activation.RELU,
              name=f"{p}.intermediate.act")
    y = b.add(b.linear(y, BOTTLENECK, name=f"{p}.output.dense"), h, name=f"{p}.output.add")
    y = _no_norm(b, y, f"{p}.output.LayerNorm")
    y = b.add(b.linear(y, HIDDEN, name=f"{p}.output.bottleneck.dense"), x,
              name=f"{p}.output.bottleneck.add")
    return _no_norm(b, y, f"{p}.output.bottleneck.LayerNorm")


def mobilebert(*, batch: int = 1, seq_len: int = 128) -> Network:
    """MobileBERT encoder, Hugging Face layout (Sun et al., "MobileBERT", arXiv 2004.02984).

    On `seq_len` tokens (inputs "input_ids", "token_type_ids", "position_ids" as in
    `workloads.zoo.bert_base`); output the (batch, seq_len, 512) hidden state. 24,581,888
    parameters (a hand count in tests/workloads/test_zoo_mobile.py). Raises SpecError for a
    batch below 1 or a sequence outside 1..512.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SpecError(f"mobilebert: 'batch' must be an integer >= 1 (got {batch!r})")
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or not 1 <= seq_len <= MAX_POSITIONS:
        raise SpecError(f"mobilebert: 'seq_len' must be an integer in 1..{MAX_POSITIONS} "
                        f"(got {seq_len!r})")
    b = NetworkBuilder("mobilebert", description=f"MobileBERT (Hugging Face defaults), seq_len "
                       f"{seq_len}, batch {batch}")
    ids = b.input("input_ids", (batch, seq_len))
    types = b.input("token_type_ids", (batch, seq_len))
    positions = b.input("position_ids", (1, seq_len))
    words = b.embedding(ids, VOCAB, EMBEDDING, name="embeddings.word_embeddings")
    trigram = b.concat([words, words, words], axis=2, name="embeddings.trigram")
    x = b.linear(trigram, HIDDEN, name="embeddings.embedding_transformation")
    x = b.add(x, b.embedding(positions, MAX_POSITIONS, HIDDEN, name="embeddings.position_embeddings"),
              name="embeddings.add_position")
    x = b.add(x, b.embedding(types, 2, HIDDEN, name="embeddings.token_type_embeddings"),
              name="embeddings.add_token_type")
    x = _no_norm(b, x, "embeddings.LayerNorm")
    for i in range(LAYERS):
        x = _layer(b, x, f"encoder.layer.{i}")
    return b.build([x])
