"""Guided sampling's loop: all rows step together; the guide (guide.py) says for each
row what may come next and whether the character drawn stands, and a row it sends
back returns to the state saved at its bar or line mark (net.Marks), or, when the
check of a line came back wrong a few steps after it ended (ahead.py), at the mark
where that line began.

Rows that are done leave the batch (``Net.keep``), so the last long tunes of a batch
do not pay for the rows that ended long before them."""
from __future__ import annotations

import math

import torch

from abcrnn.notation.tunes import END, START
from abcrnn.sampling.barlines import BARLINE_CHARS
from abcrnn.sampling.draw import pick
from abcrnn.sampling.ahead import AHEAD
from abcrnn.sampling.guide import BAR, CHAR, COPY, EARLIER, KEEP, LINE, AbcGuide
from abcrnn.sampling.net import Generated, Marks, Net, select

SCORE_CHARS = 6          # restated bars are told apart by the model's likelihood of their start
# ... tempered beside the corpus's shares of how far back bars are restated from: the
# model's log-likelihoods of six characters differ by several nats and, taken whole,
# picked the bar before for a third of the restated bars (corpus: 7%)
MODEL_SAY = 0.25


class _Masks:
    """Allowed-character sets as (V,) boolean tensors, made once per distinct set."""

    def __init__(self, vocab, device):
        self.vocab, self.device, self.made = vocab, device, {}

    def tensor(self, allowed: frozenset) -> torch.Tensor:
        found = self.made.get(allowed)
        if found is None:
            if len(self.made) > 4096:
                self.made.clear()
            found = torch.zeros(len(self.vocab), dtype=torch.bool, device=self.device)
            found[[self.vocab.stoi[c] for c in allowed]] = True
            self.made[allowed] = found
        return found


def masked_logits(net: Net, guide: AbcGuide, live: list[int], masks: _Masks) -> torch.Tensor:
    """``net.last`` with every character the guide forbids at -inf (row i of the batch
    is the guide's row live[i]; -1: a row that is done, left as it is)."""
    found = guide.mask_rows([b for b in live if b >= 0])
    if not found:
        return net.last
    keep = torch.ones_like(net.last, dtype=torch.bool)
    for i, b in enumerate(live):
        if b in found:
            keep[i] = masks.tensor(frozenset(found[b]))
    return net.last.masked_fill(~keep, float("-inf"))


def sample_guided(net: Net, vocab, prime: str, max_len: int, how, form=None):
    B = net.last.size(0)
    g = AbcGuide(vocab, prime, B, form=form, seed=how[3].seed, check_ahead=AHEAD)
    n_prime = len(g.rows[0].text)
    # "checked": where the line whose check is still running began
    marks = {"bar": Marks(net), "line": Marks(net), "checked": Marks(net)}
    live = list(range(B))                 # the guide's row of each row of the batch
    busy = [True] * B                     # still writing (a done row waits for compaction)
    ended = [False] * B
    masks = _Masks(vocab, net.last.device)
    for _ in range(4 * max_len):                      # redraws are bounded too
        if not any(busy):
            break
        if net.cache is not None:   # the tune's own music speaks in its body, not in its header
            net.cache.on = torch.tensor([g.rows[b].in_body for b in live], device=net.cache.on.device)
        nxt = pick(masked_logits(net, g, [b if busy[i] else -1 for i, b in enumerate(live)], masks), *how)
        chars = [vocab.itos[i] for i in nxt.tolist()]
        before = [(g.rows[b].bar_mark, g.rows[b].line_mark) for b in live]
        verdicts = [g.step(b, ch) if busy[i] else CHAR for i, (b, ch) in enumerate(zip(live, chars))]
        for i, b in enumerate(live):     # a mark that moved now stands here: save this place
            if verdicts[i] in (KEEP, COPY):
                if g.rows[b].bar_mark != before[i][0]:
                    marks["bar"].set(i, net)
                if g.rows[b].line_mark != before[i][1]:
                    if g.rows[b].pending is not None:     # its line is being checked
                        marks["checked"].copy_from(i, marks["line"])
                    marks["line"].set(i, net)
        refused = [i for i, v in enumerate(verdicts) if v in (CHAR, COPY)]
        kept = net.save(refused) if refused else None
        net.feed(nxt)
        if refused:             # same place again: the step is undone, the guide bans the char
            net.restore(refused, kept)
        copies = [i for i, v in enumerate(verdicts) if v == COPY]
        if copies:              # from the place before the character taken back
            restate(net, vocab, [g.rows[live[i]] for i in copies], copies, how[0])
        for i, b in enumerate(live):
            v, text = verdicts[i], g.rows[b].text
            if v == KEEP and (text.endswith(END) or len(text) - n_prime >= max_len):
                ended[b], busy[i] = text.endswith(END), False
                net.finished += 1
            elif v in (BAR, LINE, EARLIER):           # back to the mark: its saved place
                key = {BAR: "bar", LINE: "line", EARLIER: "checked"}[v]
                marks[key].restore(i, net)
                if v == EARLIER:                      # the later marks move back with it
                    marks["line"].copy_from(i, marks[key])
                if v != BAR:
                    marks["bar"].copy_from(i, marks[key])
        closing = [i for i, v in enumerate(verdicts) if v == BAR and g.rows[live[i]].copy]
        if closing:             # ways to close a part on the tonic, from the bar's start
            close_part(net, vocab, [g.rows[live[i]] for i in closing], closing, how[0])
        if 0 < sum(busy) <= 0.75 * len(live):        # the rows still writing, alone
            stay = [i for i in range(len(live)) if busy[i]]
            net.keep(stay)
            for m in marks.values():
                m.keep(stay)
            how[3].keep(stay)
            live, busy = [live[i] for i in stay], [True] * len(stay)
    return [Generated(f"{START}\n{g.rows[b].text}", ended[b]) for b in range(B)]


@torch.inference_mode()
def restate(net: Net, vocab, rows, at: list[int], temperature: float) -> None:
    """The guide asks for the next bar of each of these rows to restate one of a few
    earlier bars (row.copy). Each is scored by the model's own log-likelihood of its
    first SCORE_CHARS characters from the row's state (all rows' candidates in one
    batch), one is drawn with those weights (at the sampling temperature; 0: the
    likeliest), tempered by MODEL_SAY and times its prior (row.copy_prior: how often
    the corpus restates from that far back), and the guide writes it (row.forced)."""
    owners, ids, whole = [], [], []
    for k, row in enumerate(rows):
        for text in row.copy:
            owners.append(k)
            ids.append(vocab.encode(text)[:SCORE_CHARS])
            whole.append(row.copy_whole)
    ends = None
    if any(whole):                     # a whole bar line ends where a character of music starts
        ends = torch.tensor([c not in BARLINE_CHARS for c in vocab.itos], device=net.last.device)
    logp = score(net, [at[k] for k in owners], ids, whole if ends is not None else None, ends)
    for k, row in enumerate(rows):
        mine = [j for j, o in enumerate(owners) if o == k]
        lp = logp[mine]
        if row.copy_prior and not row.copy_whole:      # how far back folk tunes restate from
            lp = lp * MODEL_SAY + torch.log(torch.tensor(row.copy_prior)) * (temperature or 1.0)
        if temperature == 0 or len(mine) == 1:
            choice = int(torch.argmax(lp))
        else:
            choice = row.rng.choices(range(len(mine)), weights=torch.softmax(lp / temperature, 0).tolist())[0]
        if row.copy_whole:             # nothing may be added to the chosen bar line
            row.barline = (len(row.text), frozenset({row.copy[choice]}))
        row.forced, row.copy, row.copy_whole, row.copy_prior = row.copy[choice], None, False, None


@torch.inference_mode()
def close_part(net: Net, vocab, rows, at: list[int], temperature: float) -> None:
    """The guide asks each of these rows to write its part's closing bar one of a few
    ways ending on the tonic (row.copy; sampling/cadence.py), from the state at the
    bar's start. Each way is scored whole by the model's log-likelihood; the ways are
    grouped by how long their last note is (row.copy_prior: that length, and the share
    of the corpus's parts ending on a note that long). A length is drawn with the
    corpus's share times the model's likelihood of it (its ways' sum) tempered by
    MODEL_SAY, then a way of that length by the model's likelihood (at the sampling
    temperature; 0: the likeliest). The model's likelihood alone, which favours the
    fewest characters, ended 50% of jig parts on a half-bar note (the corpus: 21%)."""
    owners, ids = [], []
    for k, row in enumerate(rows):
        owners += [k] * len(row.copy)
        ids += [vocab.encode(text) for text in row.copy]
    logp = score(net, [at[k] for k in owners], ids) / (temperature or 1.0)
    for k, row in enumerate(rows):
        lp = logp[[j for j, o in enumerate(owners) if o == k]]
        lengths = [length for length, _ in row.copy_prior]
        weight = torch.empty_like(lp)
        for length, share in dict(row.copy_prior).items():
            same = torch.tensor([x == length for x in lengths])
            mass = torch.logsumexp(lp[same], 0)
            weight[same] = math.log(share) + MODEL_SAY * mass + torch.log_softmax(lp[same], 0)
        if temperature == 0:
            choice = int(torch.argmax(weight))
        else:
            choice = row.rng.choices(range(len(lp)), weights=torch.softmax(weight, 0).tolist())[0]
        row.forced, row.copy, row.copy_prior, row.copy_full = row.copy[choice], None, None, False


@torch.inference_mode()
def score(net: Net, rows: list[int], ids: list[list[int]], whole: list[bool] | None = None,
          ends: torch.Tensor | None = None) -> torch.Tensor:
    """Log-likelihood (m,) of each id sequence as the continuation of its batch row; for
    a sequence marked ``whole``, times the chance that what follows is one of ``ends``
    (a bool mask (V,)): the sequence is a token that stops there. One call of the model
    over the padded sequences (m, T) from the rows' states: its output at t predicts
    character t + 1, ``net.last`` the first."""
    m, longest = len(ids), max(len(x) for x in ids)
    state = select(net.state, rows)
    device = net.last.device
    x = torch.tensor([x + [0] * (longest - len(x)) for x in ids], device=device)        # (m, T)
    logits, _, _ = net.model(x, state=state)                                            # (m, T, V)
    logp = torch.log_softmax(torch.cat([net.last[rows][:, None], logits], 1).float(), -1)  # (m, T+1, V)
    lengths = torch.tensor([len(x) for x in ids], device=device)
    t = torch.arange(longest, device=device)
    got = logp[:, :longest].gather(2, x[:, :, None]).squeeze(2)                         # (m, T)
    total = torch.where(t[None, :] < lengths[:, None], got, torch.zeros_like(got)).sum(1)
    if ends is not None and whole is not None:
        after = logp[torch.arange(m, device=device), lengths]                           # (m, V)
        end = torch.logsumexp(after.masked_fill(~ends, float("-inf")), -1)
        total = total + torch.where(torch.tensor(whole, device=device), end, torch.zeros_like(end))
    return total.cpu()
