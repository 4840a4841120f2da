@tfjob @training
Feature: Distributed TensorFlow training with the Kubeflow training operator
  As a QA engineer validating a Kubeflow installation
  I want TFJobs with parameter servers, workers and chiefs to train MNIST
  So that I know distributed TensorFlow training works on this cluster

  Background:
    Given the cluster serves TFJob of kubeflow.org/v1
    And a fresh namespace for the scenario

  @smoke @mnist
  Scenario: One parameter server and two workers train MNIST
    When I submit the MNIST TFJob "mnist" with 1 parameter server(s) and 2 worker(s)
    Then the TFJob "mnist" succeeds with reason "TFJobSucceeded"
    And the workers of TFJob "mnist" reach the global step the job asked for
    And the first worker of TFJob "mnist" reports a validation cross entropy below the TensorFlow MNIST threshold
    And the training time of TFJob "mnist" is recorded
    And the components stay within their resource limits

  Scenario: Every pod's TF_CONFIG names its own task and the whole cluster
    When I submit the quick TFJob "wiring" with 1 parameter server(s) and 2 worker(s)
    Then the TFJob "wiring" succeeds with reason "TFJobSucceeded"
    And the TFJob "wiring" has these pods:
      | pod             | replica type | replica index | job role |
      | wiring-ps-0     | ps           | 0             |          |
      | wiring-worker-0 | worker       | 0             | master   |
      | wiring-worker-1 | worker       | 1             |          |
    And the TF_CONFIG of each pod of TFJob "wiring" names its own task and this cluster:
      | replica type | addresses                                                |
      | ps           | wiring-ps-0.{namespace}.svc:2222                         |
      | worker       | wiring-worker-0.{namespace}.svc:2222, wiring-worker-1.{namespace}.svc:2222 |

  Scenario: Parameter servers keep running after success under the default clean pod policy
    When I submit the quick TFJob "lingering" with 1 parameter server(s) and 1 worker(s)
    Then the TFJob "lingering" succeeds with reason "TFJobSucceeded"
    And the parameter server pods of TFJob "lingering" are still running

  Scenario: Clean pod policy Running removes the parameter servers once the job has succeeded
    When I submit the quick TFJob "tidy" with 1 parameter server(s) and 1 worker(s) and clean pod policy Running
    Then the TFJob "tidy" succeeds with reason "TFJobSucceeded"
    And no parameter server pods of TFJob "tidy" remain

  Scenario: A first worker that fails fails the job
    When I submit the TFJob "broken" whose first worker exits with an error
    Then the TFJob "broken" fails with reason "TFJobFailed"
    And the failure of TFJob "broken" is explained by pod "broken-worker-0" with its last log line:
      """
      worker cannot reach its data
      """

  @mnist
  Scenario: A chief, a parameter server and a worker train with ParameterServerStrategy
    When I submit the ParameterServerStrategy TFJob "strategy" with a chief, 1 parameter server(s) and 1 worker(s)
    Then the TFJob "strategy" succeeds with reason "TFJobSucceeded"
    And the chief of TFJob "strategy" reports an accuracy of at least the TensorFlow MNIST threshold
