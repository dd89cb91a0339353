"""Sign-in for a dashboard served beyond 127.0.0.1: one shared secret, checked per session.

``handoff serve --password-file FILE`` (or ``HANDOFF_SHARED_SECRET`` in the environment)
gives the server a secret; every browser session must type it once before any page runs.
Without a secret nothing is asked: the server binds to 127.0.0.1 only (or is knowingly
public, see ``handoff serve --help``).
"""

from __future__ import annotations

import hmac
import os

import streamlit as st

SECRET_ENV = "HANDOFF_SHARED_SECRET"
"""Environment variable holding the shared secret; ``handoff serve`` sets it from a file."""


def shared_secret() -> str:
    """The configured secret, or "" when the dashboard asks for none."""
    return os.environ.get(SECRET_ENV, "")


def require_sign_in() -> None:
    """Stop the run with a sign-in form until this session has typed the shared secret."""
    secret = shared_secret()
    if not secret or st.session_state.get("auth_signed_in"):
        return
    st.title("Handoff Health")
    st.write("This dashboard is shared with a password. Type it to open the pages.")
    with st.form("auth_form"):
        typed = st.text_input("Password", type="password", key="auth_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if hmac.compare_digest(typed.encode(), secret.encode()):
            st.session_state["auth_signed_in"] = True
            st.session_state.pop("auth_password", None)
            st.rerun()
        st.error("That is not the password.")
    st.stop()
