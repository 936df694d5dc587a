"""Deploy safety (docs/deploy-safety.md, issue 13): a failed rollout fails `pulumi up`, credentials survive
RDS's rotation, only real availability zones, alarms reach people, flow logs where they are cheap, and
trust policies as AWS documents them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from moto.events.models import EventPattern  # moto's EventBridge pattern engine (what its put_events routes by)

from components.settings import SettingsError
from tests.harness import ACCOUNT_ID, Graph, policy_document, run_stack, settings_error, statements
from tools.mock_runtime import PlaceholderMocks

SERVICE = "aws:ecs/service:Service"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
MACHINE = "aws:sfn/stateMachine:StateMachine"
GET_PARAMETER = "aws:ssm/getParameter:getParameter"


def run_released(stack: str = "dev", overrides: dict[str, str] | None = None) -> Graph:
    """The stack after the pipeline released a tag: the release parameter no longer holds service.image_tag."""
    call = PlaceholderMocks.call

    def live(self, args):  # type: ignore[no-untyped-def]
        if args.token == GET_PARAMETER and args.args["name"].endswith("/release/image-tag"):
            return {"name": args.args["name"], "value": "0123abc", "insecureValue": "0123abc", "type": "String"}, []
        return call(self, args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PlaceholderMocks, "call", live)
        return run_stack(stack, overrides=overrides)


@pytest.fixture(scope="module")
def released_prod() -> Graph:
    return run_released("prod")


# --- 1. a rollout ECS stops or rolls back fails `pulumi up` ---------------------------------------------------


def test_released_service_waits_for_its_deployment_within_the_configured_timeout(released_prod: Graph):
    service = released_prod.one(SERVICE, "*-web-svc")
    assert service.inputs["waitForSteadyState"] is True
    assert service.custom_timeouts == {"create": "30m", "update": "30m"}  # prod default
    assert service.inputs["alarms"]["enable"] is True and service.inputs["alarms"]["rollback"] is True


def test_released_workers_wait_for_their_deployment_like_the_web_service(released_prod: Graph, dev: Graph):
    worker = released_prod.one(SERVICE, "*-worker-default-svc")
    assert worker.inputs["waitForSteadyState"] is True
    assert worker.custom_timeouts == {"create": "30m", "update": "30m"}
    # before any release the worker's image does not exist either: nothing to wait for
    assert dev.one(SERVICE, "*-worker-default-svc").inputs["waitForSteadyState"] is False
    off = run_released("prod", {"service.wait_for_steady_state": "false"}).one(SERVICE, "*-worker-default-svc")
    assert off.inputs["waitForSteadyState"] is False


def test_timeout_and_wait_are_settings():
    service = run_released("dev", {"service.deployment_timeout_minutes": "45"}).one(SERVICE, "*-web-svc")
    assert service.custom_timeouts == {"create": "45m", "update": "45m"} and service.inputs["waitForSteadyState"]
    assert run_released("dev", {"service.wait_for_steady_state": "false"}).one(SERVICE, "*-web-svc").inputs[
        "waitForSteadyState"] is False
    error, graph = settings_error("dev", {"service.deployment_timeout_minutes": "2"})
    assert "django-platform:service.deployment_timeout_minutes: got 2; expected an integer from 5 to 180" in str(error)
    assert graph.custom() == []


def test_before_any_release_nothing_waits_and_the_alarms_do_not_judge(dev: Graph):
    """The first `pulumi up` points at service.image_tag, which the pipeline has not pushed yet: waiting would
    time out, and the ALB's 503s (no target) already hold alb_5xx_rate in ALARM."""
    service = dev.one(SERVICE, "*-web-svc")
    assert service.inputs["waitForSteadyState"] is False and service.inputs["alarms"]["enable"] is False


def test_a_tag_configured_to_deploy_as_is_is_waited_for():
    graph = run_stack("dev", overrides={"service.pipeline_owns_deployments": "false", "pipeline.enabled": "false"})
    assert graph.one(SERVICE, "*-web-svc").inputs["waitForSteadyState"] is True


def test_deployment_alarms_never_breach_on_silence(released_prod: Graph):
    """ECS fails a deployment when a watched alarm goes to ALARM: no data (no traffic, no registered target)
    must never count as a breach."""
    service = released_prod.one(SERVICE, "*-web-svc")
    watched = [a for a in released_prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
               if a.inputs["name"] in service.inputs["alarms"]["alarmNames"]]
    assert len(watched) == 3 and {a.inputs["treatMissingData"] for a in watched} == {"notBreaching"}


# --- 2. credentials survive RDS's rotation -----------------------------------------------------------------

# AWS's published RotationSucceeded event (AWS Database Blog, "Multi-user secrets rotation for Amazon RDS",
# 2022-04-22), the account and secret ARN replaced: what CloudTrail hands EventBridge after a rotation.
SAMPLE_ROTATION_EVENT: dict[str, Any] = {
    "version": "0", "id": "dd5fd657-7361-f5d2-0c0f-0fe27390611b",
    "detail-type": "AWS Service Event via CloudTrail", "source": "aws.secretsmanager",
    "account": ACCOUNT_ID, "time": "2021-08-13T19:17:16Z", "region": "us-east-1", "resources": [],
    "detail": {
        "eventVersion": "1.08",
        "userIdentity": {"accountId": ACCOUNT_ID, "invokedBy": "secretsmanager.amazonaws.com"},
        "eventTime": "2021-08-13T19:17:16Z", "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "RotationSucceeded", "awsRegion": "us-east-1",
        "sourceIPAddress": "secretsmanager.amazonaws.com", "userAgent": "secretsmanager.amazonaws.com",
        "requestParameters": None, "responseElements": None,
        "additionalEventData": {"SecretId": "SECRET"},
        "requestID": "Rotation-SECRET-7ac47c8c-f328-423b-9698-6926dd1f293e",
        "eventID": "638c6d2d-e098-4100-a3e0-a4b7b87e5b92", "readOnly": False, "eventType": "AwsServiceEvent",
        "managementEvent": True, "recipientAccountId": ACCOUNT_ID, "eventCategory": "Management",
    },
}


def rotation_event(secret_arn: str, event_name: str = "RotationSucceeded") -> dict[str, Any]:
    event = copy.deepcopy(SAMPLE_ROTATION_EVENT)
    event["detail"]["additionalEventData"]["SecretId"] = secret_arn
    event["detail"]["eventName"] = event_name
    return event


def master_secret_arn(graph: Graph) -> str:
    return graph.one("aws:rds/instance:Instance").outputs["masterUserSecrets"][0]["secretArn"]


def test_rotation_rule_matches_the_rotation_of_exactly_the_master_secret(stack_graph: Graph):
    secret = master_secret_arn(stack_graph)
    pattern = EventPattern.load(stack_graph.one(RULE, "*-rotation-db-password-rule").inputs["eventPattern"])
    assert pattern.matches_event(rotation_event(secret))
    other = secret.replace("rds!db-", "rds!db-other-")
    assert not pattern.matches_event(rotation_event(other))  # another database's secret
    # Secrets Manager generates the Django key inside a CloudFormation stack (components/generated_secret.py)
    django_key_stack = stack_graph.one("aws:cloudformation/stack:Stack", "*-app-django-key-cfn")
    django_key = django_key_stack.outputs["outputs"]["SecretArn"]
    assert not pattern.matches_event(rotation_event(django_key))
    for not_done in ("RotationStarted", "RotationFailed", "RotationAbandoned"):
        assert not pattern.matches_event(rotation_event(secret, not_done))
    api_call = rotation_event(secret)
    api_call["detail-type"] = "AWS API Call via CloudTrail"  # someone calling RotateSecret is not a rotation
    assert not pattern.matches_event(api_call)


def test_rotation_restarts_the_web_and_worker_services_through_step_functions_with_no_code(stack_graph: Graph):
    """Workers hold the password too (they get the web tasks' secrets): every long-running service restarts."""
    machine = stack_graph.one(MACHINE)
    definition = json.loads(machine.inputs["definition"])
    state = definition["States"][definition["StartAt"]]
    restarted = []
    while True:
        assert state["Resource"] == "arn:aws:states:::aws-sdk:ecs:updateService"
        assert state["Parameters"]["ForceNewDeployment"] is True
        restarted.append((state["Parameters"]["Cluster"], state["Parameters"]["Service"]))
        if state.get("End"):
            break
        state = definition["States"][state["Next"]]
    services = [stack_graph.one(SERVICE, "*-web-svc"), stack_graph.one(SERVICE, "*-worker-default-svc")]
    assert restarted == [(s.inputs["cluster"], s.inputs["name"]) for s in services]
    assert len(definition["States"]) == len(restarted)  # no state left out of the chain
    rule = stack_graph.one(RULE, "*-rotation-db-password-rule")
    (target,) = [t for t in stack_graph.of_type(TARGET) if t.inputs["rule"] == rule.outputs["name"]]
    assert target.inputs["arn"] == machine.outputs["arn"]
    assert not any(r.type.startswith("aws:lambda") for r in stack_graph.resources)


def test_rotation_roles_may_do_exactly_what_they_need(stack_graph: Graph):
    env = "prod" if stack_graph.one(SERVICE, "*-web-svc").inputs["name"].startswith("django-prod") else "dev"
    machine = stack_graph.one(MACHINE)
    service_arns = [f"arn:aws:ecs:us-east-1:{ACCOUNT_ID}:service/django-{env}-app-ecs/django-{env}-{name}-svc"
                    for name in ("web", "worker-default")]
    assert statements(stack_graph.one(ROLE_POLICY, "*-rotation-redeploy-sfn")) == [
        {"Sid": "RestartTheServices", "Effect": "Allow", "Action": "ecs:UpdateService", "Resource": service_arns}]
    assert statements(stack_graph.one(ROLE_POLICY, "*-rotation-db-password-rule")) == [
        {"Sid": "StartTheRedeploy", "Effect": "Allow", "Action": "states:StartExecution",
         "Resource": machine.outputs["arn"]}]
    machine_role = stack_graph.one(ROLE, "*-rotation-redeploy-sfn")
    (trust,) = statements(machine_role, "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == machine.outputs["arn"]
    assert machine.inputs["roleArn"] == machine_role.outputs["arn"]
    (trust,) = statements(stack_graph.one(ROLE, "*-rotation-db-password-rule"), "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"]["ArnEquals"]["aws:SourceArn"] == \
        stack_graph.one(RULE, "*-rotation-db-password-rule").outputs["arn"]


def test_a_failed_restart_reaches_the_alarm_topic(stack_graph: Graph):
    rule = stack_graph.one(RULE, "*-rotation-redeploy-failed-rule")
    pattern = EventPattern.load(rule.inputs["eventPattern"])
    machine = stack_graph.one(MACHINE).outputs["arn"]
    failed = {"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
              "detail": {"status": "FAILED", "stateMachineArn": machine, "executionArn": machine + ":x"}}
    assert pattern.matches_event(failed)
    assert not pattern.matches_event({**failed, "detail": {**failed["detail"], "status": "SUCCEEDED"}})
    (target,) = [t for t in stack_graph.of_type(TARGET) if t.inputs["rule"] == rule.outputs["name"]]
    assert target.inputs["arn"] == stack_graph.one("aws:sns/topic:Topic").outputs["arn"]


# --- 3. only real availability zones, in a stable order -----------------------------------------------------


def test_subnets_use_the_regions_availability_zones_never_a_local_zone(dev: Graph, prod: Graph):
    """The mock account opted into the Boston Local Zone (listed, and sorting first) and one zone is impaired."""
    for graph, expected in ((dev, ["us-east-1a", "us-east-1b"]), (prod, ["us-east-1a", "us-east-1b", "us-east-1c"])):
        zones = sorted({s.inputs["availabilityZone"] for s in graph.of_type("aws:ec2/subnet:Subnet")})
        assert zones == expected


def test_a_region_with_fewer_zones_than_asked_is_a_settings_error():
    call = PlaceholderMocks._zones

    def two_zones(self):  # type: ignore[no-untyped-def]
        return [z for z in call(self) if z["ZoneName"] not in ("us-east-1c", "us-east-1d", "us-east-1e",
                                                                "us-east-1f")]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PlaceholderMocks, "_zones", two_zones)
        with pytest.raises(SettingsError) as caught:
            run_stack("prod")
    message = str(caught.value)
    assert "django-platform:network.az_count: got 3; expected at most 2: us-east-1 has 2 availability zones " \
           "(us-east-1a, us-east-1b; Local and Wavelength Zones do not count)" in message
    assert [r for r in caught.value.graph.custom() if r.type.startswith("aws:ec2/subnet")] == []  # type: ignore


# --- 4. alarms reach people -------------------------------------------------------------------------------------


def test_production_like_stacks_refuse_a_topic_without_subscribers():
    error, graph = settings_error("prod", {"monitoring.alarm_emails": "[]"})
    (problem,) = error.problems
    assert problem.key == "monitoring.alarm_emails" and "monitoring.require_subscriber: false" in problem.allowed
    assert graph.custom() == []
    error, _ = settings_error("dev", {"environment": "stg"})
    assert [p.key for p in error.problems] == ["monitoring.alarm_emails"]


def test_a_webhook_or_the_explicit_opt_out_is_enough():
    run_stack("prod", overrides={"monitoring.alarm_emails": "[]",
                                 "monitoring.webhooks": '["https://hooks.example.com/x"]'})
    graph = run_stack("prod", overrides={"monitoring.alarm_emails": "[]", "monitoring.require_subscriber": "false"})
    assert graph.of_type("aws:sns/topicSubscription:TopicSubscription") == []


# --- 5. flow logs: S3 with KMS and a lifecycle in prod, CloudWatch Logs in dev ------------------------------


def test_prod_sends_flow_logs_to_a_kms_encrypted_expiring_bucket(prod: Graph):
    flow = prod.one("aws:ec2/flowLog:FlowLog")
    bucket = prod.one("aws:s3/bucket:Bucket", "*-net-flow-logs-*")
    telemetry = prod.one("aws:kms/key:Key", "*-telemetry-kms").outputs["arn"]
    assert (flow.inputs["logDestinationType"], flow.inputs["logDestination"]) == ("s3", bucket.outputs["arn"])
    assert "iamRoleArn" not in flow.inputs and flow.inputs["trafficType"] == "ALL"
    assert not [g for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup") if "flow" in g.name]
    (rule,) = prod.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                       "*-net-flow-logs-*").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": telemetry}
    (lifecycle,) = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                            "*-net-flow-logs-*").inputs["rules"]
    assert lifecycle["expiration"]["days"] == 365
    assert bucket.protect and bucket.retain_on_delete


def test_log_delivery_may_write_only_this_accounts_logs_with_the_documented_conditions(prod: Graph):
    policy = statements(prod.one("aws:s3/bucketPolicy:BucketPolicy", "*-net-flow-logs-*"))
    by_sid = {s["Sid"]: s for s in policy}
    bucket = prod.one("aws:s3/bucket:Bucket", "*-net-flow-logs-*").outputs["arn"]
    source = {"aws:SourceAccount": ACCOUNT_ID}
    logs = {"aws:SourceArn": f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:*"}
    assert by_sid["AWSLogDeliveryWrite"] == {
        "Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": f"{bucket}/AWSLogs/{ACCOUNT_ID}/*",
        "Condition": {"StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}, "ArnLike": logs}}
    assert by_sid["AWSLogDeliveryAclCheck"]["Action"] == ["s3:GetBucketAcl", "s3:ListBucket"]
    assert by_sid["AWSLogDeliveryAclCheck"]["Condition"] == {"StringEquals": source, "ArnLike": logs}
    assert by_sid["DenyInsecureTransport"]["Effect"] == "Deny"
    key_policy = policy_document(prod.one("aws:kms/key:Key", "*-telemetry-kms"))
    (delivery,) = [s for s in key_policy["Statement"]
                   if s["Principal"] == {"Service": "delivery.logs.amazonaws.com"}]
    assert delivery["Condition"] == {"StringEquals": source, "ArnLike": logs}
    assert "kms:GenerateDataKey*" in delivery["Action"]


def test_dev_keeps_flow_logs_in_cloudwatch_and_its_key_admits_no_log_delivery(dev: Graph):
    assert dev.one("aws:ec2/flowLog:FlowLog").inputs["logDestinationType"] == "cloud-watch-logs"
    key_policy = policy_document(dev.one("aws:kms/key:Key", "*-telemetry-kms"))
    assert not [s for s in key_policy["Statement"] if s["Principal"] == {"Service": "delivery.logs.amazonaws.com"}]


def test_flow_log_destination_is_a_setting():
    graph = run_stack("dev", overrides={"network.flow_logs_destination": "s3", "network.flow_logs_s3_days": "30"})
    (lifecycle,) = graph.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                             "*-net-flow-logs-*").inputs["rules"]
    assert lifecycle["expiration"]["days"] == 30
    assert graph.one("aws:ec2/flowLog:FlowLog").inputs["logDestinationType"] == "s3"
    error, _ = settings_error("dev", {"network.flow_logs_destination": "firehose"})
    assert "django-platform:network.flow_logs_destination: got \"firehose\"; expected one of cloud-watch-logs, s3" \
        in str(error)


# --- 6. trust and key grants as AWS documents them -------------------------------------------------------------


def test_execution_role_trust_has_no_undocumented_source_arn_condition(stack_graph: Graph):
    (execution,) = statements(stack_graph.one(ROLE, "*-web-execution-role"), "assumeRolePolicy")
    assert execution["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    (task,) = statements(stack_graph.one(ROLE, "*-web-task-role"), "assumeRolePolicy")
    assert task["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT_ID}:*"}


def test_flow_logs_role_trusts_only_this_accounts_flow_logs(dev: Graph):
    (trust,) = statements(dev.one(ROLE, "*-net-flow-logs-role"), "assumeRolePolicy")
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                                  "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:us-east-1:{ACCOUNT_ID}:vpc-flow-log/*"}}


def test_the_migration_task_can_decrypt_the_master_password(stack_graph: Graph):
    """The migration runs a revision of the web task definition, so with the web execution role: that role
    must decrypt the RDS-managed secret with the key RDS encrypts it with."""
    key = stack_graph.one("aws:rds/instance:Instance").inputs["masterUserSecretKmsKeyId"]
    policy = statements(stack_graph.one(ROLE_POLICY, "*-web-execution-role"))
    decrypt = next(s for s in policy if s["Sid"] == "DecryptTheTasksSecrets")
    assert key in decrypt["Resource"]
    read = next(s for s in policy if s["Sid"] == "ReadTheTasksSecrets")
    assert master_secret_arn(stack_graph) in read["Resource"]
