"""Word ids (the exercise's rule), subword-free parts of the sequence featurizers, bucketed batches."""

from __future__ import annotations

import torch

from engine.batching import BucketBatches, TensorBatches, make_batches, sequence_lengths
from engine.features import featurizer_from_state, make_featurizer
from engine.features_seq import TokenIds, build_vocab


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
    from engine.config import make_config

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
    assert isinstance(make_batches((ids, lengths), y, 16), BucketBatches)
    assert isinstance(make_batches(torch.zeros(5, 3), y[:5], 16), TensorBatches)
    b = BucketBatches((ids, lengths), y, 16, shuffle=True, generator=torch.Generator().manual_seed(1), bucket=4)
    seen, padded, batches = [], 0, list(b)
    assert len(batches) == len(b)
    for (xb, lb), yb in batches:
        assert xb.shape[1] == int(lb.max())  # trimmed to the batch's longest title
        assert torch.equal(lb, lengths[yb]) and torch.equal(xb, ids[yb, :xb.shape[1]])
        padded += int(xb.numel() - lb.sum())
        seen += yb.tolist()
    assert sorted(seen) == list(range(len(y)))
    plain = sum(int(lengths[yb].max()) * len(yb) - int(lengths[yb].sum())
                for _, yb in TensorBatches((ids, lengths), y, 16, shuffle=True, generator=torch.Generator().manual_seed(1)))
    assert padded < plain / 2  # bucketing removes most padding
    again = [yb.tolist() for _, yb in BucketBatches((ids, lengths), y, 16, shuffle=True,
                                                    generator=torch.Generator().manual_seed(1), bucket=4)]
    assert again == [yb.tolist() for _, yb in batches]
    ordered = [yb for _, yb in BucketBatches((ids, lengths), y, 16)]
    assert torch.equal(torch.cat(ordered), y)  # evaluation keeps the data's order


def test_sequence_lengths_of_attention_masks():
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert sequence_lengths({"input_ids": mask, "attention_mask": mask}).tolist() == [2, 3]
    assert sequence_lengths(torch.zeros(2, 3)) is None
