"""Word ids (the exercise's rule), subword-free parts of the sequence featurizers, bucketed batches."""

from __future__ import annotations

import torch
from torch import nn

from engine.features import featurizer_from_state, make_featurizer
from engine.features.sequence import TokenIds, build_vocab
from engine.training.batching import (
    InOrder,
    LengthBuckets,
    eval_batches,
    make_batches,
    sequence_lengths,
)


class _Split:
    def __init__(self, x):
        self.x = x


class _Data:
    def __init__(self, train):
        self.train = _Split(train)


CORPUS = [
    "Stocks fall as oil rises",  # stocks x3, oil x3, fall x2, rises x1, as x2
    "Oil rises, stocks fall",
    "Apple stocks: oil as usual",
    "Zebra",  # seen once: id 0
]


def test_vocabulary_ids_follow_frequency_rank_with_zero_for_rare_words():
    f = TokenIds()
    f.fit(_Data(CORPUS))
    # counts: stocks 3, oil 3, fall 2, as 2, rises 2; apple, usual, zebra 1 (ties: first appearance)
    assert f.vocab == ["stocks", "oil", "fall", "as", "rises"]
    assert f.ids("stocks oil fall as rises") == [1, 2, 3, 4, 5]
    assert f.ids("Zebra apple OIL unseen") == [0, 0, 2, 0]
    assert build_vocab(CORPUS, min_count=3) == ["stocks", "oil"]
    view = f.explain("Zebra stocks")
    assert view.tokens == [("zebra", False), ("stocks", True)] and view.unknown == ["zebra"]


def test_transform_pads_with_zero_and_reports_lengths_and_round_trips():
    f = TokenIds()
    f.fit(_Data(CORPUS))
    ids, lengths = f.transform(["oil", "stocks fall as oil", "", "!!!"])
    assert ids.tolist() == [[2, 0, 0, 0], [1, 3, 4, 2], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert lengths.tolist() == [1, 4, 1, 1]  # empty titles are one pad token (packing refuses length 0)
    g = featurizer_from_state(f.state())
    assert g.vocab == f.vocab and torch.equal(g.transform(["oil rises"])[0], f.transform(["oil rises"])[0])
    assert f.spec()["vocab_size"] == 6


def test_registered_for_text_ids():
    from engine.config.run_config import make_config

    assert isinstance(make_featurizer(make_config(dataset="news", model="rnn"), "text", "ids"), TokenIds)


def _sequences(n=203, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 30, (n,), generator=g)
    ids = torch.zeros(n, 30, dtype=torch.long)
    for i, n_tok in enumerate(lengths):
        ids[i, :n_tok] = torch.arange(1, int(n_tok) + 1) + 100 * i
    return ids, lengths


def test_bucket_batches_cover_every_row_once_trim_padding_and_are_seeded():
    ids, lengths = _sequences()
    y = torch.arange(len(lengths))
    assert isinstance(make_batches((ids, lengths), y, 16, shuffle=True).sampler, LengthBuckets)
    assert not isinstance(make_batches(torch.zeros(5, 3), y[:5], 16, shuffle=True).sampler, LengthBuckets)
    b = make_batches((ids, lengths), y, 16, shuffle=True, generator=torch.Generator().manual_seed(1), bucket=4)
    seen, padded, batches = [], 0, list(b)
    assert len(batches) == len(b)
    for (xb, lb), yb in batches:
        assert xb.shape[1] == int(lb.max())  # trimmed to the batch's longest title
        assert torch.equal(lb, lengths[yb]) and torch.equal(xb, ids[yb, :xb.shape[1]])
        padded += int(xb.numel() - lb.sum())
        seen += yb.tolist()
    assert sorted(seen) == list(range(len(y)))
    plain = sum(int(lengths[yb].max()) * len(yb) - int(lengths[yb].sum())
                for yb in torch.randperm(len(y), generator=torch.Generator().manual_seed(1)).split(16))
    assert padded < plain / 2  # bucketing removes most padding
    again = [yb.tolist() for _, yb in make_batches((ids, lengths), y, 16, shuffle=True,
                                                   generator=torch.Generator().manual_seed(1), bucket=4)]
    assert again == [yb.tolist() for _, yb in batches]
    ordered = [(xb, yb) for xb, yb in make_batches((ids, lengths), y, 16)]
    assert torch.equal(torch.cat([yb for _, yb in ordered]), y)  # without shuffle: the data's order...
    assert all(xb.shape[1] == int(lb.max()) for (xb, lb), _ in ordered)  # ...trimmed all the same


class _LastToken(nn.Module):
    """Outputs each sequence's last real id and its length: wrong rows or wrong padding show."""

    def forward(self, x):
        ids, lengths = x
        return torch.stack([ids[torch.arange(len(ids)), lengths - 1], lengths], 1).float()


def test_eval_batches_run_in_length_order_and_predict_puts_outputs_back_in_data_order():
    from engine.training.trainer import Trainer

    ids, lengths = _sequences(n=600)
    y = torch.arange(len(lengths))
    batches = eval_batches((ids, lengths), y)
    assert isinstance(batches.sampler, InOrder) and batches.sampler.order is not None
    seen = []
    for (xb, lb), yb in batches:
        assert xb.shape[1] == int(lb.max()) and torch.equal(lb, lengths[yb])  # rows keep their labels
        seen.append(lb)
    flat = torch.cat(seen)
    assert torch.equal(flat, torch.sort(lengths, stable=True).values)  # computed shortest first
    size = batches.sampler.batch_size
    data_order = sum(int(lengths[s:s + size].max()) * len(lengths[s:s + size]) for s in range(0, len(y), size))
    assert sum(int(lb.max()) * len(lb) for lb in seen) < data_order  # less padding computed
    model = _LastToken()
    out, yy = Trainer(model, torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.0)).predict(batches)
    assert torch.equal(yy, y)  # back in the data's order, with the outputs that belong to each row
    assert torch.equal(out, model((ids, lengths)))
    plain = eval_batches(torch.zeros(5, 3), y[:5])
    assert getattr(plain.sampler, "order", None) is None and torch.equal(torch.cat([yb for _, yb in plain]), y[:5])


def test_sequence_lengths_of_attention_masks():
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert sequence_lengths({"input_ids": mask, "attention_mask": mask}).tolist() == [2, 3]
    assert sequence_lengths(torch.zeros(2, 3)) is None


def test_batching_leaves_the_global_rng_to_dropout():
    """A pass over the batches draws nothing from the global RNG (dropout's): a run's masks do not depend on it."""
    ids, lengths = _sequences()
    y = torch.arange(len(lengths))
    torch.manual_seed(0)
    expected = torch.rand(3)
    for x in ((ids, lengths), torch.zeros(len(y), 3)):
        torch.manual_seed(0)
        for batches in (make_batches(x, y, 16, shuffle=True, generator=torch.Generator().manual_seed(1)),
                        eval_batches(x, y)):
            assert len(list(batches)) > 0
        assert torch.equal(torch.rand(3), expected)
