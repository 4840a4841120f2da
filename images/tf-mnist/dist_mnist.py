"""Between-graph replicated MNIST training, as Kubeflow's TFJob example image does it.

The original validation judged a TFJob by `kubeflow/tf-dist-mnist-test`: parameter servers hold
the variables, every worker builds its own copy of the graph and trains asynchronously against
them, and each pod's log tells the story in fixed lines that the suite reads (`job name = ...`,
`Worker %d: training step %d done (global step: %d)`, `Training elapsed time: %f s`, `After %d
training step(s), validation cross entropy = %g`). So this is that program's shape, flags and
lines on today's TensorFlow (`tf.compat.v1`): a softmax model with one hidden layer placed by
`replica_device_setter`, a MonitoredTrainingSession per worker, Adam on a summed cross entropy,
the validation split the TF 1 helper used (the first 5 000 training images), and parameter
servers that serve until the job ends them. Two departures: MNIST comes from the four IDX files
(offline folder first, then the mirrors) instead of `tensorflow.examples.tutorials`, and after
the official last line one more, `After %d training step(s), validation accuracy = %g`.

Without TF_CONFIG (a single-replica TFJob) it trains alone, as a one-worker cluster on loopback.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import idx_dataset
import numpy as np
import numpy.typing as npt
import tensorflow.compat.v1 as tf
import tf_config

DEFAULT_DATA_DIR = "/data/mnist"
"""Where the image's `dev.kfval.dataset.mnist` label asks the embedded node to bind MNIST."""
DOWNLOAD_CACHE = Path("/tmp/mnist-data")
"""The example's own default data dir, kept as the place downloaded files go."""
IMAGE_PIXELS = 28
CLASSES = 10
VALIDATION_SIZE = 5000
"""`read_data_sets`' default: the first 5 000 training images are held out for validation."""
SESSION_POLL_SECONDS = 1
SESSION_WAIT_SECONDS = 30 * 60
"""How long a worker waits for the chief to initialise the variables before it gives up."""

# The example's own format strings, printf style as it wrote them (`%g` may print `1.2e+03`).
JOB_NAME_LINE = "job name = %s"
TASK_INDEX_LINE = "task index = %d"
BEGINS_LINE = "Training begins @ %f"
STEP_LINE = "%f: Worker %d: training step %d done (global step: %d)"
ENDS_LINE = "Training ends @ %f"
ELAPSED_LINE = "Training elapsed time: %f s"
CROSS_ENTROPY_LINE = "After %d training step(s), validation cross entropy = %g"
ACCURACY_LINE = "After %d training step(s), validation accuracy = %g"
"""Not the example's: one more line after its last, for the suite's accuracy threshold."""
LOST_STEP_LINE = "Worker %d: training step %d lost: a parameter server refused it as a duplicate RunGraph"
"""Not the example's, on stderr: a step TensorFlow aborted (see `refused_as_duplicate`)."""
DUPLICATE_RUN_GRAPH = "The same RunGraph (Worker) request was received twice"
"""TensorFlow's worker service, refusing a request id it has already seen (`RecentRequestIds`)."""
MAX_LOST_STEPS_IN_A_ROW = 10


@dataclass(frozen=True)
class Examples:
    """Images as float32 rows in [0, 1] and labels one-hot, as `read_data_sets(one_hot=True)` gives them."""

    images: npt.NDArray[np.float32]
    labels: npt.NDArray[np.float32]


@dataclass(frozen=True)
class Graph:
    """The tensors a worker feeds and fetches."""

    images: Any
    labels: Any
    global_step: Any
    train_op: Any
    cross_entropy: Any
    accuracy: Any
    hooks: tuple[Any, ...]


def flag(text: str) -> bool:
    """A boolean flag's value as absl wrote them: true/false, 1/0, yes/no."""
    if text.lower() in ("true", "t", "1", "yes"):
        return True
    if text.lower() in ("false", "f", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The example's flags (absl style: `--flag`, `--flag=false` and `--noflag` for booleans)."""
    parser = argparse.ArgumentParser(description="Distributed MNIST (TFJob example)")
    parser.add_argument("--data_dir", default=os.environ.get("MNIST_DIR", DEFAULT_DATA_DIR))
    parser.add_argument("--train_steps", type=int, default=20000)
    parser.add_argument("--batch_size", type=int, default=100)
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--hidden_units", type=int, default=100)
    parser.add_argument("--num_gpus", type=int, default=1, help="used only when the node has GPUs")
    parser.add_argument("--replicas_to_aggregate", type=int, default=None)
    parser.add_argument("--task_index", type=int, default=None, help="overrides TF_CONFIG's task index")
    parser.add_argument("--job_name", default=None, help="overrides TF_CONFIG's task type")
    for name in ("sync_replicas", "existing_servers", "download_only"):
        parser.add_argument(f"--{name}", type=flag, nargs="?", const=True, default=False)
        parser.add_argument(f"--no{name}", dest=name, action="store_const", const=False)
    return parser.parse_args(argv)


def load_examples(data_dir: Path) -> tuple[Examples, Examples]:
    """(train, validation): the 60 000 training images less the first 5 000, and those 5 000."""
    train, _ = idx_dataset.load(data_dir, cache=DOWNLOAD_CACHE)
    images = train.images.reshape(len(train.images), IMAGE_PIXELS * IMAGE_PIXELS).astype(np.float32) / 255.0
    labels = np.eye(CLASSES, dtype=np.float32)[train.labels]
    held_out = slice(0, VALIDATION_SIZE)
    kept = slice(VALIDATION_SIZE, None)
    return Examples(images[kept], labels[kept]), Examples(images[held_out], labels[held_out])


def batches(examples: Examples, *, size: int, seed: int) -> Iterator[tuple[npt.NDArray[np.float32], ...]]:
    """Endless batches, reshuffled every epoch, each worker in its own order (as `next_batch` did)."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(examples.images))
        for start in range(0, len(order) - size + 1, size):
            chosen = order[start : start + size]
            yield examples.images[chosen], examples.labels[chosen]


def free_port() -> int:
    """A loopback port nobody listens on, for the one-task cluster of a run without TF_CONFIG."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def task_of(args: argparse.Namespace) -> tf_config.Task:
    """This replica from TF_CONFIG (flags override); alone on a local server without it."""
    task = tf_config.from_environment(os.environ)
    if task is None:
        return tf_config.Task(job_name="worker", index=0, cluster={"worker": (f"localhost:{free_port()}",)})
    job_name = args.job_name or task.job_name
    index = task.index if args.task_index is None else args.task_index
    return tf_config.Task(job_name=job_name, index=index, cluster=task.cluster)


def start_server(task: tf_config.Task) -> Any:
    """This task's gRPC server, listening on its own address's port."""
    cluster = tf.train.ClusterSpec({job: list(hosts) for job, hosts in task.cluster.items()})
    return tf.train.Server(cluster, job_name=task.job_name, task_index=task.index)


def worker_device(task: tf_config.Task, num_gpus: int) -> str:
    """Where this worker's operations run: its GPU when asked for and present, else its CPU."""
    gpus = tf.config.list_physical_devices("GPU") if num_gpus > 0 else []
    unit = f"gpu:{task.index % len(gpus)}" if gpus else "cpu:0"
    return f"/job:worker/task:{task.index}/{unit}"


def model(images: Any, *, hidden_units: int) -> Any:
    """Class probabilities: one ReLU hidden layer, then softmax, initialised as the example did."""
    pixels = IMAGE_PIXELS * IMAGE_PIXELS
    hid_w = tf.Variable(tf.truncated_normal([pixels, hidden_units], stddev=1.0 / IMAGE_PIXELS), name="hid_w")
    hid_b = tf.Variable(tf.zeros([hidden_units]), name="hid_b")
    sm_w = tf.Variable(tf.truncated_normal([hidden_units, CLASSES], stddev=1.0 / math.sqrt(hidden_units)), name="sm_w")
    sm_b = tf.Variable(tf.zeros([CLASSES]), name="sm_b")
    hidden = tf.nn.relu(tf.nn.xw_plus_b(images, hid_w, hid_b))
    return tf.nn.softmax(tf.nn.xw_plus_b(hidden, sm_w, sm_b))


def build_graph(args: argparse.Namespace, task: tf_config.Task) -> Graph:
    """Variables on the parameter servers (round robin), operations on this worker."""
    workers = len(task.hosts("worker"))
    setter = tf.train.replica_device_setter(
        worker_device=worker_device(task, args.num_gpus),
        ps_device="/job:ps/cpu:0",
        cluster={job: list(hosts) for job, hosts in task.cluster.items() if job in ("ps", "worker")},
    )
    with tf.device(setter):
        global_step = tf.train.get_or_create_global_step()
        images = tf.placeholder(tf.float32, [None, IMAGE_PIXELS * IMAGE_PIXELS])
        labels = tf.placeholder(tf.float32, [None, CLASSES])
        probabilities = model(images, hidden_units=args.hidden_units)
        cross_entropy = -tf.reduce_sum(labels * tf.log(tf.clip_by_value(probabilities, 1e-10, 1.0)))
        correct = tf.equal(tf.argmax(probabilities, 1), tf.argmax(labels, 1))
        accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
        optimizer = tf.train.AdamOptimizer(args.learning_rate)
        hooks: tuple[Any, ...] = ()
        if args.sync_replicas:
            optimizer = tf.train.SyncReplicasOptimizer(
                optimizer, replicas_to_aggregate=args.replicas_to_aggregate or workers, total_num_replicas=workers
            )
            hooks = (optimizer.make_session_run_hook(task.index == 0),)
        train_op = optimizer.minimize(cross_entropy, global_step=global_step)
    return Graph(images, labels, global_step, train_op, cross_entropy, accuracy, hooks)


def session_target(args: argparse.Namespace, task: tf_config.Task, server: Any) -> str:
    """The master this worker's session talks to: its own server, or an existing one."""
    if not args.existing_servers:
        return str(server.target)
    target = f"grpc://{task.address}"
    print(f"Using existing server at: {target}", flush=True)
    return target


class ReplicaSessionCreator(tf.train.SessionCreator):  # type: ignore[misc]
    """The chief initialises the variables on the parameter servers; the others poll every second.

    MonitoredTrainingSession's own creator polls every 30 s, long enough for a short job to end
    before a non-chief worker has stepped once; the example's Supervisor polled every second.
    """

    def __init__(self, *, master: str, config: Any, chief: bool) -> None:
        self.scaffold = tf.train.Scaffold()
        self.master = master
        self.config = config
        self.chief = chief

    def create_session(self) -> Any:
        """A session on initialised variables; the chief initialises them only where they are not.

        MonitoredSession calls this again after a broken connection to a parameter server. The
        variables are still there: initialising them again would set the global step back to 0 and
        throw the training away. So the chief first looks once, as a waiting worker does, and
        initialises only when the parameter servers hold nothing yet (first start, or restarted).
        """
        self.scaffold.finalize()
        manager = tf.train.SessionManager(
            local_init_op=self.scaffold.local_init_op,
            ready_op=self.scaffold.ready_op,
            ready_for_local_init_op=self.scaffold.ready_for_local_init_op,
            graph=tf.get_default_graph(),
            recovery_wait_secs=SESSION_POLL_SECONDS,
        )
        if not self.chief:
            return manager.wait_for_session(self.master, config=self.config, max_wait_secs=SESSION_WAIT_SECONDS)
        try:
            return manager.wait_for_session(self.master, config=self.config, max_wait_secs=0)
        except tf.errors.DeadlineExceededError:
            return manager.prepare_session(self.master, init_op=self.scaffold.init_op, config=self.config)


def open_session(args: argparse.Namespace, task: tf_config.Task, server: Any, graph: Graph) -> Any:
    """This worker's session, with the hooks that synchronous replicas need."""
    chief = task.index == 0
    if chief:
        print(f"Worker {task.index}: Initializing session...", flush=True)
    else:
        print(f"Worker {task.index}: Waiting for session to be initialized...", flush=True)
    config = tf.ConfigProto(allow_soft_placement=True, device_filters=["/job:ps", f"/job:worker/task:{task.index}"])
    creator = ReplicaSessionCreator(master=session_target(args, task, server), config=config, chief=chief)
    return tf.train.MonitoredSession(session_creator=creator, hooks=list(graph.hooks))


def run_steps(
    session: Any, graph: Graph, train_set: Examples, *, task: tf_config.Task, args: argparse.Namespace
) -> None:
    """One line per local step until the global step reaches --train_steps (asynchronous: others step too)."""
    lost_in_a_row = 0
    for local_step, (images, labels) in enumerate(batches(train_set, size=args.batch_size, seed=task.index), 1):
        feed = {graph.images: images, graph.labels: labels}
        try:
            _, step = session.run([graph.train_op, graph.global_step], feed_dict=feed)
        except (tf.errors.AbortedError, tf.errors.CancelledError) as error:
            lost_in_a_row += 1
            if not refused_as_duplicate(error) or lost_in_a_row > MAX_LOST_STEPS_IN_A_ROW:
                raise
            print(LOST_STEP_LINE % (task.index, local_step), file=sys.stderr, flush=True)
            continue
        lost_in_a_row = 0
        print(STEP_LINE % (time.time(), task.index, local_step, step))
        if step >= args.train_steps:
            return


def refused_as_duplicate(error: Any) -> bool:
    """Whether a parameter server refused this step's RunGraph as one it had already received.

    gRPC can deliver a RunGraph twice after a connection blip; the server aborts the second and the
    worker's step fails (as CANCELLED, the abort attached). Asynchronous training loses that one
    step, nothing else: the variables and the global step live on the parameter servers.
    """
    return DUPLICATE_RUN_GRAPH in str(error.message)


def train(args: argparse.Namespace, task: tf_config.Task, server: Any) -> None:
    """A worker's life: data, graph, session, steps, then the validation lines."""
    train_set, validation = load_examples(Path(args.data_dir))
    graph = build_graph(args, task)
    with open_session(args, task, server, graph) as session:
        print(f"Worker {task.index}: Session initialization complete.", flush=True)
        begin = time.time()
        print(BEGINS_LINE % begin, flush=True)
        run_steps(session, graph, train_set, task=task, args=args)
        end = time.time()
        print(ENDS_LINE % end)
        print(ELAPSED_LINE % (end - begin))
        feed = {graph.images: validation.images, graph.labels: validation.labels}
        cross_entropy, accuracy = session.run([graph.cross_entropy, graph.accuracy], feed_dict=feed)
        print(CROSS_ENTROPY_LINE % (args.train_steps, cross_entropy))
        print(ACCURACY_LINE % (args.train_steps, accuracy), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.download_only:
            load_examples(Path(args.data_dir))
            return 0
        task = task_of(args)
    except (idx_dataset.DatasetUnavailableError, tf_config.TFConfigError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    print(JOB_NAME_LINE % task.job_name)
    print(TASK_INDEX_LINE % task.index, flush=True)
    tf.disable_eager_execution()
    server = None if args.existing_servers else start_server(task)
    if task.job_name == "ps":
        server.join()  # serves the variables until the job's end kills the pod
        return 0
    try:
        train(args, task, server)
    except idx_dataset.DatasetUnavailableError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
