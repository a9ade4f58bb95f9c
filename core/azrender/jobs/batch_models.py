"""The job spec as azure-batch 15 request models: what the Batch backend sends and the local
backend executes. ``model.as_dict()`` of each is the REST JSON exactly as sent.

Secrets: a SAS may appear only where Batch defines a place for it (resource file URLs, output file
container URLs, a blobfuse mount's ``sasKey``), as the job preparation task's
``AZRENDER_STORE_SAS`` setting (exactly the nodes' read SAS, :func:`azrender.jobs.build.node_secrets`)
and as the render tasks' ``AZRENDER_OUTPUTS_SAS`` setting (exactly the per-frame upload's outputs SAS,
:func:`azrender.jobs.build.outputs_secrets`); an account key only in an Azure Files mount's
``accountKey``, a CIFS password only in its mount's ``password``; any other command line or environment
setting that carries one is refused here.
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


@dataclass(frozen=True)
class BatchRequests:
    pool: m.BatchPoolCreateOptions | None
    job: m.BatchJobCreateOptions
    tasks: list[m.BatchTaskCreateOptions]
    all_tasks_added: bool = True  # False: more tasks follow later (scouts, budget waves); the job stays open

    def as_json(self, *, redacted: bool = True) -> dict:
        """``{"pool", "job", "tasks"}`` REST JSON; SAS signatures and keys masked unless asked."""
        doc = {"pool": self.pool.as_dict() if self.pool else None, "job": self.job.as_dict(),
               "tasks": [t.as_dict() for t in self.tasks]}
        if not redacted:
            return doc
        for mount in (doc["pool"] or {}).get("mountConfiguration", []):
            for config in mount.values():
                for secret in ("accountKey", "sasKey", "password"):
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


def _user(elevated: bool, pool_user: bool = False) -> m.UserIdentity | None:
    """Admin when elevated; the pool's shared non-admin auto-user when the tasks must see what the
    start task set up for that user (``cmdkey`` credentials for ``net use``); else Batch's default."""
    if not elevated and not pool_user:
        return None
    return m.UserIdentity(auto_user=m.AutoUserSpecification(
        scope=m.AutoUserScope.POOL, elevation_level=m.ElevationLevel.ADMIN if elevated else m.ElevationLevel.NON_ADMIN))


def _uses_net_use(job: JobSpec) -> bool:
    return bool(job.pool and job.pool.mount and job.pool.mount.kind == "windows-net-use")


def _seconds(value: int | None) -> timedelta | None:
    return timedelta(seconds=value) if value else None


def _refuse_secrets(texts: dict[str, str]) -> None:
    """Refuse any command line or environment value that carries a secret. One pass over all of
    them (10,000-task jobs), then a second only to name the culprit."""
    if redact("\n".join(texts.values())) == "\n".join(texts.values()):
        return
    for where, text in texts.items():
        if redact(text) != text:
            raise JobError(f"refusing to send a secret in {where}: {redact(text)[:200]}",
                           hint="credentials belong in resource/output file URLs or a managed identity")


def _node_task_texts(where: str, task: NodeTaskSpec | TaskSpec, allowed=()) -> dict[str, str]:
    """``allowed``: ``(name, value)`` settings that are meant to carry a secret."""
    texts = {f"the {where} command line": task.command_line}
    texts.update({f"the {where} environment setting {name}": value for name, value in task.environment
                  if (name, value) not in allowed})
    return texts


def _fast(cls, **rest):
    """An SDK model from REST-named fields whose nested values are already SDK models.

    ``cls(field=...)`` converts every field through the SDK's type machinery (about 0.3 ms per
    task, 3 s for a 10,000-frame job); filling the model as the MutableMapping it is gives the
    same JSON, ``as_dict()`` and typed attributes (the tests compare both ways)."""
    model = cls()
    model.update({k: v for k, v in rest.items() if v is not None})
    return model


def task_models(job: JobSpec) -> list[m.BatchTaskCreateOptions]:
    """One create-task request per task; parts every task shares are built once."""
    store = parse_store_url(job.access.outputs_url)
    container_url = store.container_url_with_sas()
    identity = _identity(job.access)
    on_success = m.OutputFileUploadConfiguration(upload_condition=m.OutputFileUploadCondition.TASK_SUCCESS)
    on_completion = m.OutputFileUploadConfiguration(upload_condition=m.OutputFileUploadCondition.TASK_COMPLETION)
    constraints: dict[tuple, m.BatchTaskConstraints] = {}
    user = _user(False, pool_user=_uses_net_use(job))

    def output(task: TaskSpec, pattern: str, kind: str, condition) -> m.OutputFile:
        # Frames land side by side (names are unique across tasks), as an artist expects them;
        # logs, which every task names alike, go under the task's id.
        folder = layout.job_key(job.outputs_of or job.id, kind) if kind == "outputs" else \
            layout.job_key(job.id, kind, task.id)
        container = _fast(m.OutputFileBlobContainerDestination, containerUrl=container_url,
                          path=store.key(folder), identityReference=identity)
        return _fast(m.OutputFile, filePattern=pattern, destination=_fast(m.OutputFileDestination, container=container),
                     uploadOptions=condition)

    models = []
    for task in job.tasks:
        limits = (task.max_wall_clock_seconds, task.retries, task.retention_seconds)
        if limits not in constraints:
            constraints[limits] = m.BatchTaskConstraints(max_wall_clock_time=_seconds(limits[0]),
                                                         max_task_retry_count=limits[1],
                                                         retention_time=_seconds(limits[2]))
        models.append(_fast(
            m.BatchTaskCreateOptions, id=task.id,
            displayName=f"frames {task.first}-{task.last}" if task.first != task.last else f"frame {task.first}",
            commandLine=task.command_line,
            outputFiles=[output(task, task.output_pattern, "outputs", on_success),
                         output(task, LOG_PATTERN, "logs", on_completion)],
            environmentSettings=_env(task.environment), constraints=constraints[limits], userIdentity=user,
            requiredSlots=task.required_slots))
    return models


def _mount(spec: MountSpec, access: NodeAccess, node_os: str) -> m.MountConfiguration | None:
    from azrender.jobs.mounts import default_options

    options = spec.options or (default_options(spec.kind, node_os) if spec.kind != "windows-net-use" else "")
    if spec.kind == "blobfuse":
        return m.MountConfiguration(azure_blob_file_system_configuration=m.AzureBlobFileSystemConfiguration(
            account_name=spec.account_name, container_name=spec.container_or_share,
            sas_key=None if access.identity_resource_id else spec.sas_token,
            identity_reference=_identity(access), relative_mount_path=spec.relative_mount_path,
            blobfuse_options=options))
    if spec.kind == "fileshare":
        if not spec.account_key:
            raise JobError(f"an Azure Files mount of {spec.container_or_share} needs the storage account key")
        return m.MountConfiguration(azure_file_share_configuration=m.AzureFileShareConfiguration(
            account_name=spec.account_name, account_key=spec.account_key,
            azure_file_url=f"https://{spec.account_name}.file.core.windows.net/{spec.container_or_share}",
            relative_mount_path=spec.relative_mount_path, mount_options=options))
    if spec.kind == "nfs":
        return m.MountConfiguration(nfs_mount_configuration=m.NfsMountConfiguration(
            source=spec.source, relative_mount_path=spec.relative_mount_path, mount_options=options or None))
    if spec.kind == "cifs":
        return m.MountConfiguration(cifs_mount_configuration=m.CifsMountConfiguration(
            username=spec.username, password=spec.password, source=spec.source,
            relative_mount_path=spec.relative_mount_path, mount_options=options or None))
    if spec.kind == "windows-net-use":
        return None  # mapped by each task (see build._mount_commands)
    raise JobError(f"unknown mount kind {spec.kind!r}")


def pool_model(pool: PoolSpec, access: NodeAccess, *, slots_per_task: int | None = None) -> m.BatchPoolCreateOptions:
    image = pool.image
    if image.gallery_image_id:
        reference = m.BatchVmImageReference(virtual_machine_image_id=image.gallery_image_id)
    else:
        reference = m.BatchVmImageReference(publisher=image.publisher, offer=image.offer, sku=image.sku,
                                            version=image.version)
    start = None
    if pool.start_task:
        _refuse_secrets(_node_task_texts("start task", pool.start_task))
        start = m.BatchStartTask(command_line=pool.start_task.command_line,
                                 resource_files=[_resource_file(r, access) for r in pool.start_task.resource_files] or None,
                                 environment_settings=_env(pool.start_task.environment),
                                 user_identity=_user(pool.start_task.elevated),
                                 max_task_retry_count=pool.start_task.retries, wait_for_success=True)
    mounts = [c for c in (_mount(spec, access, pool.node_os) for spec in (pool.mount, *pool.mounts) if spec) if c]
    size: dict = dict(target_dedicated_nodes=pool.dedicated_nodes, target_low_priority_nodes=pool.spot_nodes)
    if pool.autoscale is not None:  # Batch refuses target node counts beside a formula
        from azrender.jobs.autoscale import EVALUATION_MINUTES, formula

        size = dict(enable_auto_scale=True, auto_scale_evaluation_interval=timedelta(minutes=EVALUATION_MINUTES),
                    auto_scale_formula=formula(pool.autoscale, slots_per_node=pool.task_slots,
                                               slots_per_task=slots_per_task or pool.task_slots))
    return m.BatchPoolCreateOptions(
        id=pool.id, vm_size=pool.vm_size,
        virtual_machine_configuration=m.VirtualMachineConfiguration(image_reference=reference,
                                                                    node_agent_sku_id=pool.node_agent_sku),
        **size, task_slots_per_node=pool.task_slots, start_task=start,
        application_package_references=[m.BatchApplicationPackageReference(application_id=a, version=v)
                                        for a, v in pool.app_packages] or None,
        mount_configuration=mounts or None,
        metadata=[m.BatchMetadataItem(name=k, value=v) for k, v in pool.metadata] or None,
    )


def to_batch_models(job: JobSpec) -> BatchRequests:
    from azrender.jobs.build import node_secrets, outputs_secrets

    texts = {f"the job environment setting {name}": value for name, value in job.environment}
    for where, spec in (("job preparation task", job.preparation), ("job release task", job.release)):
        if spec is not None:
            allowed = node_secrets(job.access) if spec is job.preparation else ()
            texts.update(_node_task_texts(where, spec, allowed))
    allowed = outputs_secrets(job.access)  # per-frame upload's SAS, exactly the outputs one
    for task in job.tasks:
        texts.update(_node_task_texts(f"task {task.id}", task, allowed))
    _refuse_secrets(texts)
    prep = release = None
    if job.preparation:
        prep = m.BatchJobPreparationTask(
            id="azrender-prep", command_line=job.preparation.command_line,
            resource_files=[_resource_file(r, job.access) for r in job.preparation.resource_files] or None,
            environment_settings=_env(job.preparation.environment),
            constraints=m.BatchTaskConstraints(max_wall_clock_time=_seconds(job.preparation.max_wall_clock_seconds),
                                               max_task_retry_count=job.preparation.retries),
            wait_for_success=True, user_identity=_user(job.preparation.elevated, pool_user=_uses_net_use(job)),
            rerun_on_node_reboot_after_success=True)
    if job.release:
        release = m.BatchJobReleaseTask(
            id="azrender-release", command_line=job.release.command_line,
            environment_settings=_env(job.release.environment),
            max_wall_clock_time=_seconds(job.release.max_wall_clock_seconds), user_identity=_user(job.release.elevated))
    job_model = m.BatchJobCreateOptions(
        id=job.id, display_name=job.display_name or None, pool_info=m.BatchPoolInfo(pool_id=job.pool_id),
        priority=job.priority or None, max_parallel_tasks=job.max_parallel_tasks,
        job_preparation_task=prep, job_release_task=release, common_environment_settings=_env(job.environment),
        metadata=[m.BatchMetadataItem(name=k, value=v) for k, v in job.metadata] or None,
    )
    slots = job.tasks[0].required_slots if job.tasks else None
    return BatchRequests(pool=pool_model(job.pool, job.access, slots_per_task=slots) if job.pool else None, job=job_model,
                         tasks=task_models(job))
