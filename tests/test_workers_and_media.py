"""Queue workers (SQS + Fargate without a load balancer) and the media bucket, in both stacks and with every option."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import Graph, Resource, run_stack, settings_error, statements

QUEUE = "aws:sqs/queue:Queue"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET = "aws:s3/bucket:Bucket"
WORKER = '[{"name": "default", "command": ["celery", "--app", "config", "worker"]}]'
TUNED = ('[{"name": "thumbs", "command": ["celery", "--app", "config", "worker"], "cpu": 512, "memory": 1024, '
         '"min_count": 2, "max_count": 4, "messages_per_task": 10, "task_time_limit": 900, "stop_timeout": 30, '
         '"max_receive_count": 3, "spot": false}]')


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack_graph(request, dev: Graph, prod: Graph) -> Graph:
    return {"dev": dev, "prod": prod}[request.param]


@pytest.fixture(scope="module")
def tuned() -> Graph:
    return run_stack("dev", overrides={"workers": TUNED, "media.expiration_days": "30",
                                       "media.url_expiry_seconds": "600"})


@pytest.fixture(scope="module")
def bare() -> Graph:
    return run_stack("dev", overrides={"workers": "[]", "media.enabled": "false"})


def container(graph: Graph, family_glob: str) -> dict[str, Any]:
    (only,) = json.loads(graph.one(TASK, family_glob).inputs["containerDefinitions"])
    return only


def env(definition: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in definition["environment"]}


def by_sid(resource: Resource) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(resource)}


def data_key(graph: Graph) -> str:
    return graph.one("aws:kms/key:Key", "*-data-kms").outputs["arn"]


# --- the queue ----------------------------------------------------------------------------------------------


def test_queue_is_encrypted_with_the_data_key_and_hides_a_message_longer_than_a_task_may_take(stack_graph: Graph):
    queue = stack_graph.one(QUEUE, "*-worker-default-sqs").inputs
    dlq = stack_graph.one(QUEUE, "*-worker-default-dlq-sqs")
    assert queue["kmsMasterKeyId"] == data_key(stack_graph) == dlq.inputs["kmsMasterKeyId"]
    assert queue["visibilityTimeoutSeconds"] == 300 + 60  # task_time_limit + margin
    assert queue["receiveWaitTimeSeconds"] == 20
    assert json.loads(queue["redrivePolicy"]) == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 5}
    # a message's age counts from its first enqueue: the DLQ must keep it longer than the queue did
    assert dlq.inputs["messageRetentionSeconds"] > queue["messageRetentionSeconds"]


def test_dead_letter_queue_takes_redrives_from_its_queue_only_and_both_refuse_plain_http(stack_graph: Graph):
    queue = stack_graph.one(QUEUE, "*-worker-default-sqs")
    allow = stack_graph.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    assert json.loads(allow.inputs["redriveAllowPolicy"]) == {"redrivePermission": "byQueue",
                                                              "sourceQueueArns": [queue.outputs["arn"]]}
    policies = stack_graph.of_type("aws:sqs/queuePolicy:QueuePolicy")
    worker_policies = [p for p in policies if "worker" in p.name]
    assert len(worker_policies) == 2
    for policy in worker_policies:
        (deny,) = statements(policy)
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_tuned_queue_follows_the_worker_settings(tuned: Graph):
    queue = tuned.one(QUEUE, "*-worker-thumbs-sqs").inputs
    assert queue["visibilityTimeoutSeconds"] == 960
    assert json.loads(queue["redrivePolicy"])["maxReceiveCount"] == 3


# --- the service ---------------------------------------------------------------------------------------------


def test_worker_runs_the_web_image_without_a_load_balancer_in_private_subnets(stack_graph: Graph):
    service = stack_graph.one(SERVICE, "*-worker-default-svc")
    web = stack_graph.one(SERVICE, "*-web-svc")
    assert "loadBalancers" not in service.inputs and "healthCheckGracePeriodSeconds" not in service.inputs
    network = service.inputs["networkConfiguration"]
    assert network["assignPublicIp"] is False and network["subnets"] == web.inputs["networkConfiguration"]["subnets"]
    batch = stack_graph.one("aws:ec2/securityGroup:SecurityGroup", "*-batch-sg").outputs["id"]
    assert network["securityGroups"] == [batch]  # admitted by the database and the cache
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service.ignore_changes == ["desiredCount"]
    assert service.inputs["cluster"] == web.inputs["cluster"]
    worker, site = container(stack_graph, "*-worker-default-task"), container(stack_graph, "*-web-task")
    assert worker["image"] == site["image"]
    assert worker["command"] == ["celery", "--app", "config", "worker", "--loglevel", "INFO", "--concurrency", "2"]
    assert worker["stopTimeout"] == 120 and worker["linuxParameters"] == {"initProcessEnabled": True}
    assert worker["secrets"] == container(stack_graph, "*-job-clearsessions-task")["secrets"]
    assert worker["readonlyRootFilesystem"] is True and worker["user"] == "1000:1000"
    # the same contract as the web tasks, plus its own queue and limits
    worker_env, site_env = env(worker), env(site)
    assert {k: v for k, v in worker_env.items() if not k.startswith("CELERY_") or k in site_env} == \
        {k: v for k, v in site_env.items() if k in worker_env}
    assert set(site_env) - set(worker_env) == set()
    assert (worker_env["CELERY_WORKER_QUEUE"], worker_env["CELERY_TASK_TIME_LIMIT"],
            worker_env["CELERY_VISIBILITY_TIMEOUT"]) == ("default", "300", "360")
    queue_url = stack_graph.one(QUEUE, "*-worker-default-sqs").outputs["url"]
    assert json.loads(site_env["CELERY_QUEUES"]) == {"default": queue_url}
    assert site_env["CELERY_BROKER_URL"] == "sqs://"


def test_the_service_waits_for_its_role_policies(stack_graph: Graph):
    service = stack_graph.one(SERVICE, "*-worker-default-svc")
    policies = [p.urn for p in stack_graph.of_type(ROLE_POLICY) if "-worker-default-" in p.name]
    assert len(policies) == 2 and set(policies) <= set(service.dependencies)


def test_dev_scales_to_zero_on_spot_and_prod_keeps_one_on_demand(dev: Graph, prod: Graph):
    for graph, count, provider in ((dev, 0, "FARGATE_SPOT"), (prod, 1, "FARGATE")):
        service = graph.one(SERVICE, "*-worker-default-svc").inputs
        target = graph.one(TARGET, "*-worker-default-scaling").inputs
        assert service["desiredCount"] == target["minCapacity"] == count
        assert service["capacityProviderStrategies"] == [{"capacityProvider": provider, "weight": 1}]
    assert dev.one(TARGET, "*-worker-default-scaling").inputs["maxCapacity"] == 2
    assert prod.one(TARGET, "*-worker-default-scaling").inputs["maxCapacity"] == 10


def test_scaling_tracks_visible_messages_per_running_task(stack_graph: Graph):
    target = stack_graph.one(TARGET, "*-worker-default-scaling")
    policy = stack_graph.one(POLICY, "*-worker-default-backlog-scaling").inputs
    assert policy["resourceId"] == target.inputs["resourceId"] == \
        "service/" + stack_graph.one("aws:ecs/cluster:Cluster").outputs["name"] + "/" + \
        stack_graph.one(SERVICE, "*-worker-default-svc").outputs["name"]
    config = policy["targetTrackingScalingPolicyConfiguration"]
    assert config["targetValue"] == 100
    queries = {m["id"]: m for m in config["customizedMetricSpecification"]["metrics"]}
    assert queries["backlog"]["expression"] == "visible / running" and queries["backlog"]["returnData"] is True
    visible = queries["visible"]["metricStat"]
    assert (visible["metric"]["namespace"], visible["metric"]["metricName"], visible["stat"]) == (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Sum")
    assert visible["metric"]["dimensions"] == [{"name": "QueueName", "value": "django-" + (
        "dev" if "dev" in target.name else "prod") + "-worker-default-sqs"}]
    running = queries["running"]["metricStat"]["metric"]
    assert (running["namespace"], running["metricName"]) == ("ECS/ContainerInsights", "RunningTaskCount")


def test_only_a_service_allowed_to_scale_to_zero_gets_the_wake_up_policy(dev: Graph, prod: Graph, tuned: Graph):
    alarm = dev.one(ALARM, "*-worker-default-wake-up-alarm").inputs
    policy = dev.one(POLICY, "*-worker-default-wake-up-scaling")
    assert alarm["alarmActions"] == [policy.outputs["arn"]]
    (result,) = [q for q in alarm["metricQueries"] if q.get("returnData")]
    assert result["expression"] == "IF(FILL(running, 0) == 0, FILL(visible, 0), 0)"
    step = policy.inputs["stepScalingPolicyConfiguration"]
    assert step["adjustmentType"] == "ChangeInCapacity" and step["stepAdjustments"] == [
        {"metricIntervalLowerBound": "0", "scalingAdjustment": 1}]
    for graph in (prod, tuned):  # min_count 1 and 2
        assert not [a for a in graph.of_type(ALARM) if "wake-up" in a.name]
        assert not [p for p in graph.of_type(POLICY) if "wake-up" in p.name]


def test_tuned_worker_follows_every_setting(tuned: Graph):
    definition = tuned.one(TASK, "*-worker-thumbs-task").inputs
    assert (definition["cpu"], definition["memory"]) == ("512", "1024")
    (worker,) = json.loads(definition["containerDefinitions"])
    assert worker["stopTimeout"] == 30 and env(worker)["CELERY_TASK_TIME_LIMIT"] == "900"
    service = tuned.one(SERVICE, "*-worker-thumbs-svc").inputs
    assert service["capacityProviderStrategies"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    target = tuned.one(TARGET, "*-worker-thumbs-scaling").inputs
    assert (service["desiredCount"], target["minCapacity"], target["maxCapacity"]) == (2, 2, 4)
    policy = tuned.one(POLICY, "*-worker-thumbs-backlog-scaling").inputs
    assert policy["targetTrackingScalingPolicyConfiguration"]["targetValue"] == 10


# --- least privilege ------------------------------------------------------------------------------------------


def test_worker_consumes_its_own_queue_and_the_web_tasks_only_send(stack_graph: Graph):
    queue = stack_graph.one(QUEUE, "*-worker-default-sqs").outputs["arn"]
    worker = by_sid(stack_graph.one(ROLE_POLICY, "*-worker-default-task-role"))
    web = by_sid(stack_graph.one(ROLE_POLICY, "*-web-task-role"))
    assert worker["ConsumeItsQueue"]["Resource"] == queue
    assert "sqs:DeleteMessage" in worker["ConsumeItsQueue"]["Action"]
    assert web["SendToWorkerQueues"]["Resource"] == [queue]
    assert not [a for s in web.values() for a in _actions(s) if a.startswith("sqs:") and a != "sqs:SendMessage"
                and a not in ("sqs:GetQueueAttributes", "sqs:GetQueueUrl")]
    region = "us-east-1"
    for statement in (worker["DecryptItsMessages"], web["EncryptWorkerMessages"]):
        assert statement["Resource"] == data_key(stack_graph)
        assert statement["Condition"] == {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}}
    for role in (worker, web):
        assert not [a for s in role.values() for a in _actions(s) if a.endswith(":*") or a == "*"]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_web_tasks_workers_and_jobs_use_media_under_its_prefix_only(stack_graph: Graph):
    bucket = stack_graph.one(BUCKET, "*-app-media-*").outputs["arn"]
    for role_glob in ("*-web-task-role", "*-worker-default-task-role", "*-job-clearsessions-task-role"):
        found = by_sid(stack_graph.one(ROLE_POLICY, role_glob))
        assert found["MediaObjects"]["Resource"] == f"{bucket}/media/*", role_glob
        assert set(found["MediaObjects"]["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                                        "s3:AbortMultipartUpload"}
        assert found["ListMediaPrefix"] == {"Sid": "ListMediaPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
                                            "Resource": bucket,
                                            "Condition": {"StringLike": {"s3:prefix": ["media/*"]}}}
        assert found["MediaKeyThroughS3"]["Condition"] == {
            "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


# --- the media bucket -----------------------------------------------------------------------------------------------


def test_media_bucket_is_private_encrypted_versioned_and_tls_only(stack_graph: Graph):
    bucket = stack_graph.one(BUCKET, "*-app-media-*")
    children = {r.type.split(":")[-1]: r for r in stack_graph.children(bucket)}
    block = children["BucketPublicAccessBlock"].inputs
    assert all(block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                "restrictPublicBuckets"))
    assert children["BucketOwnershipControls"].inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    (rule,) = children["BucketServerSideEncryptionConfiguration"].inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                          "kmsMasterKeyId": data_key(stack_graph)}
    assert rule["bucketKeyEnabled"] is True
    assert children["BucketVersioning"].inputs["versioningConfiguration"] == {"status": "Enabled"}
    (deny,) = statements(children["BucketPolicy"])  # no grant: only the task roles' IAM policies give access
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert children["BucketPolicy"].dependencies and children["BucketPublicAccessBlock"].urn in \
        children["BucketPolicy"].dependencies


def test_media_lifecycle_and_protection_per_environment(dev: Graph, prod: Graph, tuned: Graph):
    for graph, days, production in ((dev, 7, False), (prod, 90, True)):
        bucket = graph.one(BUCKET, "*-app-media-*")
        assert (bucket.protect, bucket.retain_on_delete, bucket.inputs["forceDestroy"]) == (
            production, production, not production)
        (rule,) = graph.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                            "*-app-media-*").inputs["rules"]
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": days}
        assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    rules = tuned.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                      "*-app-media-*").inputs["rules"]
    expire = next(r for r in rules if r["id"] == "expire-uploads")
    assert expire["expiration"] == {"days": 30} and expire["filter"] == {"prefix": "media/"}
    assert env(container(tuned, "*-web-task"))["MEDIA_URL_EXPIRY"] == "600"


def test_media_contract_reaches_the_web_tasks(stack_graph: Graph):
    found = env(container(stack_graph, "*-web-task"))
    bucket = stack_graph.one(BUCKET, "*-app-media-*").outputs["bucket"]
    assert (found["MEDIA_BUCKET"], found["MEDIA_LOCATION"], found["MEDIA_REGION"], found["MEDIA_URL_EXPIRY"]) == (
        bucket, "media", "us-east-1", "3600")
    assert stack_graph.outputs["media_bucket"]["value"] == bucket


def test_without_workers_and_media_nothing_of_them_exists(bare: Graph):
    assert not [q for q in bare.of_type(QUEUE) if "worker" in q.name]
    assert not [b for b in bare.of_type(BUCKET) if "media" in b.name]
    found = env(container(bare, "*-web-task"))
    assert not [k for k in found if k.startswith(("MEDIA_", "CELERY_"))]
    web = by_sid(bare.one(ROLE_POLICY, "*-web-task-role"))  # dev: ECS Exec statements only
    assert not [sid for sid in web if not sid.startswith("EcsExec")]
    assert not [a for a in bare.of_type(ALARM) if "worker" in a.name]


def test_worker_alarms_watch_the_queue_age_and_the_dead_letters(stack_graph: Graph):
    env_name = "dev" if stack_graph.one(SERVICE, "*-web-svc").name.startswith("django-dev") else "prod"
    age = stack_graph.one(ALARM, f"django-{env_name}-monitoring-worker-queue-age-default-alarm").inputs
    dead = stack_graph.one(ALARM, f"django-{env_name}-monitoring-worker-dead-letters-default-alarm").inputs
    assert (age["metricName"], age["dimensions"]) == ("ApproximateAgeOfOldestMessage",
                                                      {"QueueName": f"django-{env_name}-worker-default-sqs"})
    assert age["threshold"] == (1800 if env_name == "dev" else 600)
    assert (dead["metricName"], dead["dimensions"], dead["threshold"]) == (
        "ApproximateNumberOfMessagesVisible", {"QueueName": f"django-{env_name}-worker-default-dlq-sqs"}, 0)


# --- bad settings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("workers", "key", "allowed"), [
    ('[{"name": "a", "command": ["celery"], "stop_timeout": 300}]', "workers[0].stop_timeout", "from 2 to 120"),
    ('[{"name": "a", "command": ["celery"], "task_time_limit": 43200}]', "workers[0].task_time_limit",
     "from 1 to 43140"),
    ('[{"name": "a", "command": ["celery"], "min_count": 3, "max_count": 2}]', "workers[0].min_count",
     "at most max_count"),
    ('[{"name": "a", "command": ["celery"], "memory": 4096}]', "workers[0].memory", "memory for cpu 256"),
    ('[{"name": "a", "command": []}]', "workers[0].command", "non-empty"),
    ('[{"name": "Bad_Name", "command": ["celery"]}]', "workers[0].name", "lowercase"),
    ('[{"name": "a", "command": ["celery"]}, {"name": "a", "command": ["celery"]}]', "workers", "unique worker"),
    ('[{"command": ["celery"]}]', "workers[0].name", "required"),
])
def test_bad_worker_settings_are_refused_before_any_resource(workers: str, key: str, allowed: str):
    error, graph = settings_error("dev", overrides={"workers": workers})
    assert any(p.key == key and allowed in p.allowed for p in error.problems), error
    assert graph.resources == []


@pytest.mark.parametrize(("override", "key"), [
    ({"media.noncurrent_version_days": "0"}, "media.noncurrent_version_days"),
    ({"media.url_expiry_seconds": "604801"}, "media.url_expiry_seconds"),
    ({"media.enabled": "maybe"}, "media.enabled"),
])
def test_bad_media_settings_are_refused(override: dict[str, str], key: str):
    error, graph = settings_error("dev", overrides=override)
    assert [p.key for p in error.problems] == [key] and graph.resources == []
