"""The security group in front of a data store: the given task groups on one port, nothing else."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.context import StackContext


def clients_only_security_group(ctx: StackContext, component: str, engine: str, port: int,
                                vpc_id: pulumi.Input[str], clients: Mapping[str, pulumi.Input[str]],
                                parent: pulumi.Resource) -> aws.ec2.SecurityGroup:
    """`{system}-{env}-{component}-sg` admitting each client group (purpose -> id) on `port` over TCP.

    No CIDR rule and no egress rule: a database or cache starts no connections, and the provider
    removes the allow-all egress AWS adds to a new group. The group's description names no engine: AWS
    cannot update it, so a change would replace the group, and a replacement under the same fixed name
    fails (InvalidGroup.Duplicate) - redis -> valkey is otherwise an in-place upgrade.
    """
    if not clients:
        raise ValueError(f"{component}: at least one client security group is needed (clients)")
    name = ctx.namer.name(component, "sg")
    group = aws.ec2.SecurityGroup(name, name=name, vpc_id=vpc_id, description=f"Port {port} from the Django tasks only",
                                  tags={"Name": name}, opts=pulumi.ResourceOptions(parent=parent))
    for purpose, client in sorted(clients.items()):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-{purpose}", security_group_id=group.id, referenced_security_group_id=client,
            ip_protocol="tcp", from_port=port, to_port=port, description=f"{engine} from the {purpose} tasks",
            opts=pulumi.ResourceOptions(parent=group))
    return group
