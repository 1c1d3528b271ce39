"""The suite's own settings: verdicts must not depend on the machine's load."""

from hypothesis import HealthCheck, settings


def test_property_tests_have_no_wall_clock_deadline():
    # A test's @settings inherits the profile conftest loads; a deadline there made a YAML
    # property test fail on a loaded machine and pass on a quiet one.
    derived = settings(max_examples=3, suppress_health_check=[HealthCheck.function_scoped_fixture])
    assert settings.default.deadline is None
    assert derived.deadline is None
    assert HealthCheck.too_slow in settings.default.suppress_health_check
