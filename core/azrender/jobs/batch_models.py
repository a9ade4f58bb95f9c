"""The job spec as azure-batch 15 request models: what the Batch backend sends and the local
backend executes. ``model.as_dict()`` of each is the REST JSON exactly as sent.

Secrets: a SAS may appear only where Batch defines a place for it (resource file URLs, output file
container URLs, a blobfuse mount's ``sasKey``), and an account key only in an Azure Files mount's
``accountKey``; a command line or environment setting that carries one is refused here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from azure.batch import models as m

from azrender import layout
from azrender.errors import JobError
from azrender.jobs.model import JobSpec, MountSpec, NodeAccess, NodeTaskSpec, PoolSpec, ResourceFileSpec, TaskSpec
from azrender.jobs.urls import parse_store_url
from azrender.redact import MASK, redact, redact_obj

LOG_PATTERN = "../std*.txt"  # stdout.txt / stderr.txt sit beside the task's working directory
DEFAULT_BLOBFUSE_OPTIONS = "-o allow_other -o attr_timeout=240 -o entry_timeout=240 -o negative_timeout=120"
DEFAULT_FILESHARE_OPTIONS = "-o vers=3.0,dir_mode=0777,file_mode=0777,serverino"


@dataclass(frozen=True)
class BatchRequests:
    pool: m.BatchPoolCreateOptions | None
    job: m.BatchJobCreateOptions
    tasks: list[m.BatchTaskCreateOptions]

    def as_json(self, *, redacted: bool = True) -> dict:
        """``{"pool", "job", "tasks"}`` REST JSON; SAS signatures and keys masked unless asked."""
        doc = {"pool": self.pool.as_dict() if self.pool else None, "job": self.job.as_dict(),
               "tasks": [t.as_dict() for t in self.tasks]}
        if not redacted:
            return doc
        for mount in (doc["pool"] or {}).get("mountConfiguration", []):
            for config in mount.values():
                for secret in ("accountKey", "sasKey"):
                    if config.get(secret):
                        config[secret] = MASK
        return redact_obj(doc)


def _identity(access: NodeAccess) -> m.BatchNodeIdentityReference | None:
    return m.BatchNodeIdentityReference(resource_id=access.identity_resource_id) if access.identity_resource_id else None


def _resource_file(spec: ResourceFileSpec, access: NodeAccess) -> m.ResourceFile:
    return m.ResourceFile(file_path=spec.file_path, http_url=spec.http_url, storage_container_url=spec.container_url,
                          blob_prefix=spec.blob_prefix, identity_reference=_identity(access))


def _env(pairs) -> list[m.EnvironmentSetting] | None:
    return [m.EnvironmentSetting(name=k, value=v) for k, v in pairs] or None


def _user(elevated: bool) -> m.UserIdentity | None:
    if not elevated:
        return None
    return m.UserIdentity(auto_user=m.AutoUserSpecification(scope="pool", elevation_level="admin"))


def _seconds(value: int | None) -> timedelta | None:
    return timedelta(seconds=value) if value else None


def _refuse_secrets(where: str, spec_text: str) -> None:
    if redact(spec_text) != spec_text:
        raise JobError(f"refusing to send a secret in {where}: {redact(spec_text)[:200]}",
                       hint="credentials belong in resource/output file URLs or a managed identity")


def _check_node_task(where: str, task: NodeTaskSpec | TaskSpec) -> None:
    _refuse_secrets(f"the {where} command line", task.command_line)
    for name, value in task.environment:
        _refuse_secrets(f"the {where} environment setting {name}", value)


def _outputs(job: JobSpec, task: TaskSpec) -> list[m.OutputFile]:
    store = parse_store_url(job.access.outputs_url)
    identity = _identity(job.access)

    def output(pattern: str, kind: str, condition: str) -> m.OutputFile:
        return m.OutputFile(
            file_pattern=pattern,
            destination=m.OutputFileDestination(container=m.OutputFileBlobContainerDestination(
                container_url=store.container_url_with_sas(), path=store.key(layout.job_key(job.id, kind, task.id)),
                identity_reference=identity)),
            upload_options=m.OutputFileUploadConfiguration(upload_condition=condition))

    return [output(task.output_pattern, "outputs", "taskSuccess"), output(LOG_PATTERN, "logs", "taskCompletion")]


def task_model(job: JobSpec, task: TaskSpec) -> m.BatchTaskCreateOptions:
    _check_node_task(f"task {task.id}", task)
    return m.BatchTaskCreateOptions(
        id=task.id,
        display_name=f"frames {task.first}-{task.last}" if task.first != task.last else f"frame {task.first}",
        command_line=task.command_line,
        output_files=_outputs(job, task),
        environment_settings=_env(task.environment),
        constraints=m.BatchTaskConstraints(max_wall_clock_time=_seconds(task.max_wall_clock_seconds),
                                           max_task_retry_count=task.retries),
    )


def _mount(spec: MountSpec, access: NodeAccess) -> m.MountConfiguration | None:
    if spec.kind == "blobfuse":
        return m.MountConfiguration(azure_blob_file_system_configuration=m.AzureBlobFileSystemConfiguration(
            account_name=spec.account_name, container_name=spec.container_or_share,
            sas_key=None if access.identity_resource_id else spec.sas_token,
            identity_reference=_identity(access), relative_mount_path=spec.relative_mount_path,
            blobfuse_options=spec.options or DEFAULT_BLOBFUSE_OPTIONS))
    if spec.kind == "fileshare":
        if not spec.account_key:
            raise JobError(f"an Azure Files mount of {spec.container_or_share} needs the storage account key")
        return m.MountConfiguration(azure_file_share_configuration=m.AzureFileShareConfiguration(
            account_name=spec.account_name, account_key=spec.account_key,
            azure_file_url=f"https://{spec.account_name}.file.core.windows.net/{spec.container_or_share}",
            relative_mount_path=spec.relative_mount_path, mount_options=spec.options or DEFAULT_FILESHARE_OPTIONS))
    if spec.kind == "windows-net-use":
        return None  # mapped by each task (see build._mount_commands)
    raise JobError(f"unknown mount kind {spec.kind!r}")


def pool_model(pool: PoolSpec, access: NodeAccess) -> m.BatchPoolCreateOptions:
    image = pool.image
    if image.gallery_image_id:
        reference = m.BatchVmImageReference(virtual_machine_image_id=image.gallery_image_id)
    else:
        reference = m.BatchVmImageReference(publisher=image.publisher, offer=image.offer, sku=image.sku,
                                            version=image.version)
    start = None
    if pool.start_task:
        _check_node_task("start task", pool.start_task)
        start = m.BatchStartTask(command_line=pool.start_task.command_line,
                                 resource_files=[_resource_file(r, access) for r in pool.start_task.resource_files] or None,
                                 environment_settings=_env(pool.start_task.environment),
                                 user_identity=_user(pool.start_task.elevated),
                                 max_task_retry_count=pool.start_task.retries, wait_for_success=True)
    mount = _mount(pool.mount, access) if pool.mount else None
    return m.BatchPoolCreateOptions(
        id=pool.id, vm_size=pool.vm_size,
        virtual_machine_configuration=m.VirtualMachineConfiguration(image_reference=reference,
                                                                    node_agent_sku_id=pool.node_agent_sku),
        target_dedicated_nodes=pool.dedicated_nodes, target_low_priority_nodes=pool.spot_nodes,
        task_slots_per_node=pool.task_slots, start_task=start,
        application_package_references=[m.BatchApplicationPackageReference(application_id=a, version=v)
                                        for a, v in pool.app_packages] or None,
        mount_configuration=[mount] if mount else None,
        metadata=[m.BatchMetadataItem(name="azrender_has_azcopy", value=str(pool.has_azcopy).lower())],
    )


def to_batch_models(job: JobSpec) -> BatchRequests:
    prep = release = None
    if job.preparation:
        _check_node_task("job preparation task", job.preparation)
        prep = m.BatchJobPreparationTask(
            id="azrender-prep", command_line=job.preparation.command_line,
            resource_files=[_resource_file(r, job.access) for r in job.preparation.resource_files] or None,
            environment_settings=_env(job.preparation.environment),
            constraints=m.BatchTaskConstraints(max_wall_clock_time=_seconds(job.preparation.max_wall_clock_seconds),
                                               max_task_retry_count=job.preparation.retries),
            wait_for_success=True, user_identity=_user(job.preparation.elevated),
            rerun_on_node_reboot_after_success=True)
    if job.release:
        _check_node_task("job release task", job.release)
        release = m.BatchJobReleaseTask(
            id="azrender-release", command_line=job.release.command_line,
            environment_settings=_env(job.release.environment),
            max_wall_clock_time=_seconds(job.release.max_wall_clock_seconds), user_identity=_user(job.release.elevated))
    for name, value in job.environment:
        _refuse_secrets(f"the job environment setting {name}", value)
    job_model = m.BatchJobCreateOptions(
        id=job.id, display_name=job.display_name or None, pool_info=m.BatchPoolInfo(pool_id=job.pool_id),
        job_preparation_task=prep, job_release_task=release, common_environment_settings=_env(job.environment),
        metadata=[m.BatchMetadataItem(name=k, value=v) for k, v in job.metadata] or None,
    )
    return BatchRequests(pool=pool_model(job.pool, job.access) if job.pool else None, job=job_model,
                         tasks=[task_model(job, t) for t in job.tasks])
