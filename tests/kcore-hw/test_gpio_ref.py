"""kcore.gpio_ref: the 40-pin header table."""

import pytest

from kcore import gpio_ref


def test_names_are_unique_and_every_header_pin_is_listed():
    table = gpio_ref.PIN_MAPPINGS["raspberry_pi"]
    names = [p.bcm_name.lower() for p in table]
    assert len(names) == len(set(names))
    assert {p.board for p in table} == set(range(1, 41))
    grounds = sorted(p.board for p in table if p.bcm_name.startswith("gnd#"))
    assert grounds == [6, 9, 14, 20, 25, 30, 34, 39]
    assert gpio_ref.by_name("gnd#8").board == 39


def test_lookups():
    assert gpio_ref.by_name("sda") == gpio_ref.PinMap("SDA", 2, 3)
    assert gpio_ref.by_name("D18").board == 12
    assert gpio_ref.bcm_to_board(18) == 12
    assert gpio_ref.board_to_bcm(12) == 18
    assert gpio_ref.board_to_bcm(1) is None
    assert gpio_ref.names_for_board_pin(19) == ["D10", "MOSI"]
    for p in gpio_ref.PIN_MAPPINGS["raspberry_pi"]:
        if p.bcm is not None:
            assert gpio_ref.by_name("D%d" % p.bcm).board == p.board


def test_unknown_names_are_clear_errors():
    with pytest.raises(KeyError, match="no Raspberry Pi pin named"):
        gpio_ref.by_name("D99")
    with pytest.raises(KeyError):
        gpio_ref.board_to_bcm(41)
    with pytest.raises(KeyError):
        gpio_ref.bcm_to_board(30)
    with pytest.raises(KeyError, match="unknown board type"):
        gpio_ref.by_name("SDA", board_type="jetson")
