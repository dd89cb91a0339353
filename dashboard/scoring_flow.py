"""The Scoring lab's numbers first: a threshold, points or decay change shows the numbers,
then the rest.

When the threshold slider moves or a point is edited, the lab fragment's run stops right
after the proposed numbers (:func:`rerun_for_the_rest`) and the fragment runs again, whole
(editor, numbers, the open tab); a decay change does the same with the page. The browser
gets the numbers in messages of their own and shows them before it spends its time
redrawing the tab's charts. The second run reuses what the first computed (the what-if
keeps its results per points and matrix); new points build their threshold table then.
"""

from __future__ import annotations

import time

import streamlit as st


def in_fragment_rerun() -> bool:
    """True while a fragment reruns on its own (not as part of a whole-page run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def numbers_first() -> None:
    """Slider callback: the next fragment run stops after the numbers and runs again.

    The proposed numbers reach the browser in a run of their own, before the charts of the
    open tab (whose drawing in the browser would otherwise hold the numbers back); the
    second run redraws the rest. See :func:`rerun_for_the_rest`.
    """
    st.session_state["sl_numbers_first"] = True


def rerun_for_the_rest() -> None:
    """After the numbers: when :func:`numbers_first` asked, run again for the rest.

    A threshold move reruns the lab fragment alone, so the second run is that fragment's;
    a decay change reruns the page, so the second run is the page's (its cached parts cost
    little). The flag is taken, so the second run draws everything.
    """
    if st.session_state.pop("sl_numbers_first", False):
        _sent()
        st.rerun(scope="fragment" if in_fragment_rerun() else "app")


NUMBERS_SENT_WAIT_S = 0.25
"""Longest wait for the numbers to leave the server before the second run starts."""


def _sent() -> None:
    """Wait (at most :data:`NUMBERS_SENT_WAIT_S`) until this session's outgoing messages are
    sent: a rerun starting earlier drops what is still queued, and the numbers would only
    reach the browser with the charts. Reads Streamlit internals; without them, no wait.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    try:
        ctx = get_script_run_ctx()
        info = Runtime.instance()._session_mgr.get_session_info(ctx.session_id)
        queue = info.session._browser_queue
    except Exception:  # noqa: BLE001 - another Streamlit version or no server (AppTest)
        return
    end = time.perf_counter() + NUMBERS_SENT_WAIT_S
    while not queue.is_empty() and time.perf_counter() < end:
        time.sleep(0.005)
