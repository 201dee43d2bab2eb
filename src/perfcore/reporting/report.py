"""What notebooks ask for: one import, ``report``, over the reporting layer's focused modules.

Notebooks stay thin: they call ``load`` once, then the functions below, and
pass the results to ``perfcore.reporting.display`` and ``perfcore.reporting.charts``.
Every function takes the frozen ``ReportData`` and returns plain values or small
DataFrames, so each is tested without a notebook (tests/test_reporting_*.py).

    data        ``load``, ``ReportData``, figures from the indicator table, the warehouse's history (SQL)
    analysis    perfcore.analytics composed for pages (ranks, alerts, SPC, funnels, ...) or ``NotYet``
    tables      the tables pages show, formatted
    narrative   sentences, and the framework in words
    pages       what a council page shows from other councils' data (drawn and fingerprinted from one object)
    commentary  the manager's commentary for the month, open and overdue actions
    wording     words shared by sentences, tiles and tables (thresholds, ordinals, quartiles, age bands)
"""

from __future__ import annotations

from perfcore.reporting.analysis import (
    FUNNEL_INDICATORS,
    FUNNEL_MIN_COUNCILS,
    alert_rules_sentence,
    alerted_indicators,
    alerts,
    analytics_settings,
    correlation_matrix,
    funnel_for,
    initiative_markers,
    initiative_results,
    initiative_title,
    interdependence,
    peer_average,
    ranks,
    spc_for,
)
from perfcore.reporting.commentary import (
    COMMENTARY_LIMIT,
    MONTH_AS_A_WHOLE,
    Action,
    Comment,
    Commentary,
    actions_sentence,
    actions_table,
    commentary,
    commentary_sentence,
    commentary_table,
    open_actions,
    overdue_actions,
    overdue_sentence,
)
from perfcore.reporting.data import (
    NotYet,
    ReportData,
    load,
    months_with_data,
    names,
    rejection_count,
    rejections,
    series,
    short_names,
    submissions,
    trend,
    value,
)
from perfcore.reporting.narrative import (
    NARRATIVE_INDICATORS,
    Headline,
    SubsidyPosition,
    alerts_sentence,
    data_quality_sentence,
    framework_rules,
    headlines,
    indicator_definition,
    narrative,
    rejections_more,
    returns_sentence,
    subsidy_callout_kind,
    subsidy_position,
    subsidy_sentence,
    work_on_hand_sentence,
)
from perfcore.reporting.pages import COUNCIL_TRENDS, TREND_INDICATORS, FromOtherCouncils, from_other_councils
from perfcore.reporting.tables import (
    REJECTIONS_SHOWN,
    Position,
    alert_table,
    benchmark_table,
    best_performers,
    framework_table,
    impact_table,
    indicator_groups,
    is_ranked,
    league,
    pairs_table,
    position_table,
    positions,
    rejected_files_table,
    rejection_counts,
    rejection_reasons,
    rejection_table,
    resubmissions,
    returns_status,
    spotlight_table,
    submission_table,
    work_on_hand_age,
)
from perfcore.reporting.wording import AGE_BANDS, ordinal

__all__ = [
    "COMMENTARY_LIMIT", "MONTH_AS_A_WHOLE", "Action", "Comment", "Commentary", "actions_sentence", "actions_table",
    "commentary", "commentary_sentence", "commentary_table", "open_actions", "overdue_actions", "overdue_sentence",
    "AGE_BANDS", "COUNCIL_TRENDS", "FUNNEL_INDICATORS", "FUNNEL_MIN_COUNCILS", "NARRATIVE_INDICATORS", "REJECTIONS_SHOWN",
    "TREND_INDICATORS", "FromOtherCouncils", "Headline", "NotYet", "Position", "ReportData", "SubsidyPosition",
    "alert_rules_sentence", "alert_table", "alerted_indicators", "alerts", "alerts_sentence", "analytics_settings",
    "benchmark_table", "best_performers", "correlation_matrix", "data_quality_sentence", "framework_rules",
    "framework_table", "from_other_councils", "funnel_for", "headlines", "impact_table", "indicator_definition",
    "indicator_groups", "initiative_markers", "initiative_results", "initiative_title", "interdependence", "is_ranked",
    "league", "load", "months_with_data", "names", "narrative", "ordinal", "pairs_table", "peer_average",
    "position_table", "positions", "ranks", "rejected_files_table", "rejection_count", "rejection_counts",
    "rejection_reasons", "rejection_table", "rejections", "rejections_more", "resubmissions", "returns_sentence",
    "returns_status", "series", "short_names", "spc_for", "spotlight_table", "subsidy_callout_kind",
    "subsidy_position", "subsidy_sentence", "submission_table", "submissions", "trend", "value",
    "work_on_hand_age", "work_on_hand_sentence",
]
