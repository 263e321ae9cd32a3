"""An unfinished card asks for itself again less and less often, then stops and says
to reload."""

import re

from pyvision.web.presenting import MAX_POLLS, POLL_LONGEST_MS


def next_poll(card: str) -> tuple[int, int] | None:
    """(poll number, delay in ms) the card asks for itself with, or None."""
    found = re.search(r'hx-get="[^"]+\?poll=(\d+)" hx-trigger="load delay:(\d+)ms"', card)
    return (int(found.group(1)), int(found.group(2))) if found else None


def test_an_unfinished_card_backs_off_then_stops_with_a_reload_link(make_user, upload):
    _, client = make_user()
    queued = upload(client, recognise=False)
    card = client.get(f"/r/{queued.pk}/card").content.decode()
    delays = []
    while (found := next_poll(card)) is not None:
        poll, delay = found
        delays.append(delay)
        assert len(delays) <= MAX_POLLS
        card = client.get(f"/r/{queued.pk}/card?poll={poll}").content.decode()
    assert len(delays) == MAX_POLLS and delays == sorted(delays)
    assert delays[0] == 300 and delays[-1] == POLL_LONGEST_MS
    assert sum(delays) < 120_000
    assert 'class="card status-queued"' in card and "hx-get" not in card
    assert f'href="/r/{queued.pk}/"' in card and "reload" in card
