"""Transcripts: the data contract, streaming readers and writers, per-user assembly and PHQ-9 windows."""

from phqwatch.transcripts.assemble import AssembleStats, assemble_users
from phqwatch.transcripts.questionnaires import read_questionnaires
from phqwatch.transcripts.readers import ReadStats, iter_messages, messages_from_records
from phqwatch.transcripts.schema import ROLES, Message, Questionnaire, UserText, Window, count_words
from phqwatch.transcripts.windows import WindowStats, build_windows
from phqwatch.transcripts.writers import SCORE_COLUMNS, atomic_write, jsonable, write_rows

__all__ = [
    "ROLES",
    "SCORE_COLUMNS",
    "AssembleStats",
    "Message",
    "Questionnaire",
    "ReadStats",
    "UserText",
    "Window",
    "WindowStats",
    "assemble_users",
    "atomic_write",
    "build_windows",
    "count_words",
    "iter_messages",
    "jsonable",
    "messages_from_records",
    "read_questionnaires",
    "write_rows",
]
