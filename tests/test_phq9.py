import math

import pytest

from phqwatch import phq9


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
        (9.4, "mild"),
        (9.6, "moderate"),
    ],
)
def test_bands_at_every_edge(total, band):
    assert phq9.band(total) == band


def test_out_of_range_and_nan_are_rejected():
    for bad in (-1, 28, float("nan")):
        with pytest.raises(ValueError, match="0 to 27"):
            phq9.band(bad)


def test_items_and_totals():
    assert len(phq9.ITEMS) == 9 and phq9.ITEMS[8].key == "self_harm"
    assert phq9.total_from_items([3] * 9) == 27
    with pytest.raises(ValueError, match="item_2"):
        phq9.total_from_items([0, 4, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="9 PHQ-9"):
        phq9.total_from_items([1, 2])
    assert "Pfizer" in phq9.ATTRIBUTION


def test_cutoff_response_remission():
    assert phq9.is_positive_screen(10) and not phq9.is_positive_screen(9)
    assert phq9.is_response(20, 10) and not phq9.is_response(20, 11)
    assert not phq9.is_response(0, 0)
    assert phq9.is_remission(4) and not phq9.is_remission(5)


def test_reliable_change_matches_jacobson_truax_by_hand():
    # 1.96 * sqrt(2) * 5.5 * sqrt(0.16) = 6.0981
    assert phq9.reliable_change_threshold() == pytest.approx(1.96 * math.sqrt(2) * 5.5 * 0.4)
    assert phq9.reliable_change_index(10, 17) == pytest.approx(7 / (math.sqrt(2) * 5.5 * 0.4))
    assert phq9.classify_change(10, 17) == "reliable deterioration"
    assert phq9.classify_change(17, 10) == "reliable improvement"
    assert phq9.classify_change(10, 14) == "no reliable change"


def test_two_estimates_with_4_point_error_need_about_11_points():
    assert phq9.estimate_change_threshold(4, 4) == pytest.approx(11.09, abs=0.01)
