@notebooks @poddefault @needs-rwx
Feature: Notebook servers with PodDefaults
  As a QA engineer validating a Kubeflow installation
  I want notebook servers to come up on a shared workspace with what PodDefaults inject
  So that I know data scientists get working notebooks with their settings and credentials

  Background:
    Given the cluster serves Notebook of kubeflow.org/v1beta1
    And the cluster serves PodDefault of kubeflow.org/v1alpha1
    And a fresh namespace for the scenario

  @smoke @post-upgrade
  Scenario: A notebook on a ReadWriteMany workspace comes up with what a PodDefault injects
    Given a ReadWriteMany workspace "workspace" is bound
    And the secret "test-secret" holds a token
    And the PodDefault "testing" adds POD_DEFAULT "Testing is enabled" and the token of secret "test-secret" to pods labelled testing
    When I create the notebook "nb" labelled testing, asking for 500m CPU and 1Gi memory, on the workspace "workspace"
    Then the notebook "nb" becomes ready
    And the pod of notebook "nb" requests 500m CPU and 1Gi memory
    And the pod of notebook "nb" carries the mark of PodDefault "testing"
    And the components stay within their resource limits

  Scenario: The notebook's Python kernel sees what the PodDefault injected
    Given a ReadWriteMany workspace "workspace" is bound
    And the secret "test-secret" holds a token
    And the PodDefault "testing" adds POD_DEFAULT "Testing is enabled" and the token of secret "test-secret" to pods labelled testing
    When I create the notebook "nb" labelled testing, asking for 500m CPU and 1Gi memory, on the workspace "workspace"
    Then the notebook "nb" becomes ready
    And a cell run by the python3 kernel of notebook "nb" sees POD_DEFAULT "Testing is enabled" and the token of secret "test-secret"

  @r-kernel
  Scenario: The notebook's R kernel sees what the PodDefault injected
    Given a ReadWriteMany workspace "workspace" is bound
    And the secret "test-secret" holds a token
    And the PodDefault "testing" adds POD_DEFAULT "Testing is enabled" and the token of secret "test-secret" to pods labelled testing
    When I create the R notebook "nb" labelled testing, asking for 500m CPU and 1Gi memory, on the workspace "workspace"
    Then the notebook "nb" becomes ready
    And a cell run by the R kernel of notebook "nb" sees POD_DEFAULT "Testing is enabled" and the token of secret "test-secret"

  Scenario: The workspace keeps what the notebook saved, for other pods and across a restart
    Given a ReadWriteMany workspace "workspace" is bound
    When I create the notebook "nb" labelled testing, asking for 500m CPU and 1Gi memory, on the workspace "workspace"
    Then the notebook "nb" becomes ready
    When the notebook "nb" saves the file "results.txt" with "accuracy 0.98"
    Then another pod on the workspace "workspace" reads "accuracy 0.98" from "results.txt"
    When the notebook "nb" is stopped and started again
    Then the notebook "nb" reads "accuracy 0.98" from "results.txt"

  @quick
  Scenario: Two PodDefaults that set one variable differently keep the notebook from starting
    Given a ReadWriteMany workspace "workspace" is bound
    And the PodDefault "alpha" sets POD_DEFAULT to "alpha" in pods labelled testing
    And the PodDefault "beta" sets POD_DEFAULT to "beta" in pods labelled testing
    When I create the notebook "nb" labelled testing, asking for 500m CPU and 1Gi memory, on the workspace "workspace"
    Then the notebook "nb" is refused a pod, saying "conflict occurred while applying poddefaults: alpha,beta on pod: nb-0"

  Scenario: A PodDefault reaches a notebook's pod only when the pod is created again
    Given a ReadWriteMany workspace "workspace" is bound
    When I create the notebook "nb" labelled testing, asking for 500m CPU and 1Gi memory, on the workspace "workspace"
    Then the notebook "nb" becomes ready
    Given the PodDefault "late" sets LATE_SETTING to "yes" in pods labelled testing
    Then the pod of notebook "nb" has no variable LATE_SETTING
    When the pod of notebook "nb" is deleted and the notebook comes back
    Then the pod of notebook "nb" has the variable LATE_SETTING set to "yes"

  Scenario: Outside a Kubeflow profile's namespace nothing is injected
    Given the scenario's namespace is not a Kubeflow profile's
    And a ReadWriteMany workspace "workspace" is bound
    And the PodDefault "alpha" sets POD_DEFAULT to "alpha" in pods labelled testing
    When I create the notebook "nb" labelled testing, asking for 500m CPU and 1Gi memory, on the workspace "workspace"
    Then the notebook "nb" becomes ready
    And the pod of notebook "nb" has no variable POD_DEFAULT

  @quick
  Scenario: A notebook asking for more CPU than any node has stays unscheduled, and says why at once
    Given a ReadWriteMany workspace "workspace" is bound
    When I create the notebook "big" labelled testing, asking for 4096 CPU and 1Gi memory, on the workspace "workspace"
    Then the notebook "big" cannot be scheduled, for lack of cpu
