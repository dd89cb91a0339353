"""Lifecycle metrics.

The funnel (stage entries, conversion, velocity), SLA and response times, rejections, the
monthly review and the headline metrics behind ``handoff metrics``.
"""
