"""The read model's indexes, changed in place of a rebuild, equal the index rebuilt from scratch; the radius
grid's candidates hold every position within the radius. No database: these are the arrays alone."""
import math
from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.distance import Near, kilometres
from readmodel import blob as blob_module
from readmodel.blob import Blob
from readmodel.index import Coordinates, Groups, Ordering, search_keys
from tests.helpers import examples

SETTINGS = settings(max_examples=examples(200), deadline=None)


@st.composite
def table_changes(draw):
    """Column values per slot before and after a change, the live slots before, the slots removed (changed or
    gone) and the slots added (changed or new)."""
    size = draw(st.integers(0, 60))
    before = np.array(draw(st.lists(st.integers(0, 5), min_size=size, max_size=size)), dtype=np.int64)
    live = np.flatnonzero(draw(st.lists(st.booleans(), min_size=size, max_size=size))).astype(np.int32)
    removed = np.array(sorted(draw(st.sets(st.sampled_from(live.tolist()))) if len(live) else []), dtype=np.int64)
    dead = sorted(set(range(size)) - set(live.tolist()))
    new = sorted(draw(st.sets(st.sampled_from(dead))) if dead else [])
    changed = sorted(draw(st.sets(st.sampled_from(removed.tolist()))) if len(removed) else [])
    added = np.array(sorted(new + changed), dtype=np.int64)
    after = before.copy()
    for slot in added:
        after[slot] = draw(st.integers(0, 5))
    return before, after, live, removed, added


def live_after(live, removed, added):
    return np.array(sorted((set(live.tolist()) - set(removed.tolist())) | set(added.tolist())), dtype=np.int32)


def unique_keys(values):
    """A unique key per slot, as an ordering's: the value, then the slot."""
    return (values << 32) | np.arange(len(values))


@SETTINGS
@given(change=table_changes())
def test_a_changed_ordering_is_the_ordering_rebuilt(change):
    before, after, live, removed, added = change
    mask = np.zeros(len(before), dtype=bool)
    mask[removed] = True
    keys = unique_keys(after)
    changed = Ordering.build(unique_keys(before), live).changed(lambda slots: keys[slots], mask, added)
    assert changed.slots.tolist() == Ordering.build(keys, live_after(live, removed, added)).slots.tolist()


@SETTINGS
@given(change=table_changes())
def test_a_changed_group_index_is_the_index_rebuilt(change):
    before, after, live, removed, added = change
    changed = Groups.build(before, live).changed(before.__getitem__, after.__getitem__, removed, added)
    rebuilt = Groups.build(after, live_after(live, removed, added))
    assert (changed.grouped.tolist(), changed.values.tolist(), changed.starts.tolist()) == \
        (rebuilt.grouped.tolist(), rebuilt.values.tolist(), rebuilt.starts.tolist())
    for value in range(6):
        assert changed.slots([value]).tolist() == rebuilt.slots([value]).tolist()
        assert rebuilt.slots([value]).tolist() == [slot for slot in live_after(live, removed, added).tolist()
                                                   if after[slot] == value]
    values = [0, 2, 3, 5, 2**40]  # some with no group, one past any value a group can have
    slots, owners = rebuilt.slots_and_owners(values)
    assert sorted(zip(owners.tolist(), slots.tolist())) == sorted(
        (position, slot) for position, value in enumerate(values)
        for slot in live_after(live, removed, added).tolist() if after[slot] == value)


@SETTINGS
@given(keys=st.lists(st.integers(-50, 50), unique=True), targets=st.lists(st.integers(-60, 60)))
def test_searching_by_computed_keys_is_searchsorted(keys, targets):
    stored = np.array(sorted(keys), dtype=np.int64)
    slots = np.random.default_rng(0).permutation(len(stored))  # slots whose keys are stored, in key order
    key_of = np.empty(len(stored), dtype=np.int64)
    key_of[slots] = stored
    targets = np.array(targets, dtype=np.int64)
    assert search_keys(slots, lambda some: key_of[some], targets).tolist() == np.searchsorted(stored, targets).tolist()


@SETTINGS
@given(points=st.lists(st.tuples(st.floats(-90, 90), st.floats(-180, 180)), min_size=1, max_size=80),
       centre=st.tuples(st.floats(-90, 90), st.floats(-180, 180)), radius=st.floats(0.001, 20038))
def test_the_grid_offers_every_position_within_the_radius(points, centre, radius):
    latitudes, longitudes = (np.array(column, dtype=np.float64) for column in zip(*points))
    near = Near(*centre, radius)
    inside = np.flatnonzero(kilometres(near, latitudes, longitudes) <= near.radius)
    assert set(inside.tolist()) <= set(Coordinates(latitudes, longitudes).candidates(near).tolist())


def test_the_grid_at_the_antimeridian_and_the_poles():
    latitudes = np.array([0.0, 0.0, 89.99, -89.99, 10.0])
    longitudes = np.array([179.9, -179.9, 45.0, -120.0, 180.0])
    grid = Coordinates(latitudes, longitudes)
    assert {0, 1, 4} <= set(grid.candidates(Near(0.0, -180.0, 1200.0)).tolist())
    assert {2} <= set(grid.candidates(Near(90.0, 0.0, 10.0)).tolist())
    assert {3} <= set(grid.candidates(Near(-89.0, 60.0, 200.0)).tolist())
    assert grid.within(Near(0.0, 180.0, 20.0))[0].tolist() == [0, 1]
    assert math.isclose(grid.within(Near(0.0, 179.9, 1.0))[1][0], 0)


@settings(max_examples=examples(300), deadline=None)
@given(rows=st.lists(st.binary(max_size=6), min_size=1, max_size=60), data=st.data())
def test_joined_rows_are_the_rows_one_after_the_other_in_any_order(rows, data):
    """A few runs are sliced, rows mostly on their own are gathered by numpy (Blob._gathered), several passes
    of it when GATHERED_AT_ONCE is small: the same bytes either way, empty rows included."""
    blob = Blob.of(rows)
    indexes = np.array(data.draw(st.lists(st.integers(0, len(rows) - 1), max_size=80)), dtype=np.int32)
    expected = b"".join(rows[index] for index in indexes.tolist())
    with patch.object(blob_module, "GATHERED_AT_ONCE", data.draw(st.integers(1, 9))):
        assert blob.join(indexes) == expected
        if len(indexes):
            assert blob._gathered(indexes) == expected
    assert blob.join(np.arange(len(rows), dtype=np.int32)) == b"".join(rows)
