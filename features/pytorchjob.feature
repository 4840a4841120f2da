@pytorchjob @training
Feature: Distributed PyTorch training with the Kubeflow training operator
  As a QA engineer validating a Kubeflow installation
  I want PyTorchJobs to train MNIST on a master and its workers
  So that I know distributed PyTorch training works on this cluster

  Background:
    Given the cluster serves PyTorchJob of kubeflow.org/v1
    And a fresh namespace for the scenario

  @smoke @post-upgrade @mnist
  Scenario Outline: A master and <workers> worker(s) train MNIST to the expected accuracy
    When I submit the MNIST PyTorchJob "mnist" with <workers> worker(s)
    Then the pods of PyTorchJob "mnist" start running
    And the PyTorchJob "mnist" succeeds with reason "PyTorchJobSucceeded"
    And the pods of PyTorchJob "mnist" are completed
    And the master of PyTorchJob "mnist" reports an accuracy of at least the PyTorch MNIST threshold
    And the components stay within their resource limits

    Examples:
      | workers |
      | 1       |
      | 2       |

  Scenario: The operator names, labels and wires the pods as Kubeflow does
    When I submit the quick PyTorchJob "wiring" with 1 worker(s)
    Then the PyTorchJob "wiring" succeeds with reason "PyTorchJobSucceeded"
    And the pods of PyTorchJob "wiring" are completed
    And the PyTorchJob "wiring" has these pods:
      | pod             | replica type | replica index | job role |
      | wiring-master-0 | master       | 0             | master   |
      | wiring-worker-0 | worker       | 0             |          |
    And the operator gave the pods of PyTorchJob "wiring" this environment:
      | pod             | MASTER_ADDR     | MASTER_PORT | WORLD_SIZE | RANK | PYTHONUNBUFFERED |
      | wiring-master-0 | wiring-master-0 | 23456       | 2          | 0    | 1                |
      | wiring-worker-0 | wiring-master-0 | 23456       | 2          | 1    | 1                |
    And every pod of PyTorchJob "wiring" reached the master at the master pod's address

  Scenario: A worker that fails under restart policy Never fails the job
    When I submit the PyTorchJob "broken" whose worker exits with an error
    Then the PyTorchJob "broken" fails with reason "PyTorchJobFailed"
    And the failure of PyTorchJob "broken" is explained by pod "broken-worker-0" with its last log line:
      """
      worker cannot load its data
      """

  @quick
  Scenario: A PyTorchJob without a container named pytorch is refused
    When I submit the PyTorchJob "nameless" without a container named pytorch
    Then the cluster refuses it, saying "must have at least one container with name pytorch"

  Scenario: Clean pod policy All removes the pods once the job has succeeded
    When I submit the quick PyTorchJob "tidy" with 1 worker(s) and clean pod policy All
    Then the PyTorchJob "tidy" succeeds with reason "PyTorchJobSucceeded"
    And no pods of PyTorchJob "tidy" remain
