"""What refuses a change to a recorded check."""

from app.errors import Conflict


class FeedbackExists(Conflict):
    code = "feedback_exists"
