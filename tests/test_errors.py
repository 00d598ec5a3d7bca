"""Domain messages that carry values: English text for the APIs, template and values for
the pages' translations.
"""

from __future__ import annotations

import json
import pickle

from vntwin.errors import Message, ValidationError


def test_a_message_is_its_english_text_and_keeps_its_values():
    m = Message("Not an ISO 8601 date: %(value)r", value="mai")
    assert m == "Not an ISO 8601 date: 'mai'" and isinstance(m, str)
    assert json.dumps({"needed_by": [m]}) == '{"needed_by": ["Not an ISO 8601 date: \'mai\'"]}'
    assert ValidationError({"needed_by": [m]}).message == "needed_by: Not an ISO 8601 date: 'mai'"
    again = pickle.loads(pickle.dumps(m))
    assert again == m and again.template == m.template and again.params == {"value": "mai"}


def test_localise_fills_the_translation_or_falls_back_to_english():
    m = Message("Must be at most %(limit)s characters", limit=200)
    assert m.localise(lambda t: "Tối đa %(limit)s ký tự") == "Tối đa 200 ký tự"
    assert m.localise(lambda t: t) == "Must be at most 200 characters"
    assert m.localise(lambda t: "Tối đa %(gioi_han)s ký tự") == str(m)  # broken translation


def test_message_values_that_are_messages_are_translated_too():
    words = {"The request is %(status)s": "Yêu cầu ở trạng thái %(status)s",
             "in progress": "đang thực hiện"}
    message = Message("The request is %(status)s", status=Message("in progress"))
    assert message == "The request is in progress"
    assert message.localise(lambda s: words.get(s, s)) == \
        "Yêu cầu ở trạng thái đang thực hiện"
