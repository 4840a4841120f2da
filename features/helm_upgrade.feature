@helm
Feature: Upgrading the Kubeflow installation with Helm
  As a QA engineer validating a Kubeflow installation that is managed with Helm
  I want an upgrade to reach every component pod, a failed upgrade to roll back and bad values to be refused
  So that I know this installation can be upgraded safely, and still works once it has been

  Background:
    Given a fresh namespace for the scenario
    And the installer chart at its first version is installed as release "kubeflow"

  @smoke
  Scenario: An upgrade brings the original validation's component resources to new pods
    When I upgrade release "kubeflow" to the installer chart's next version with these component resources:
      | resource | limit | request |
      | cpu      | 500m  | 50m     |
      | memory   | 1Gi   | 128Mi   |
    Then release "kubeflow" is at revision 2, deployed, and revision 1 is superseded
    And every pod of release "kubeflow" is new since the upgrade, Ready, and has these component resources:
      | resource | limit | request |
      | cpu      | 500m  | 50m     |
      | memory   | 1Gi   | 128Mi   |

  Scenario: An upgrade whose pods cannot start fails within its timeout, and a rollback restores the release
    When I upgrade release "kubeflow" to the installer chart's next version with an image that cannot be pulled
    Then the upgrade fails, naming a pod of release "kubeflow" that cannot pull its image
    When I roll release "kubeflow" back to revision 1
    Then every pod of release "kubeflow" is Ready and runs the installer chart's first version

  Scenario: An upgrade whose component memory is not a quantity is refused before anything changes
    When I upgrade release "kubeflow" to the installer chart's next version with a component memory limit of "lots"
    Then Helm refuses the values, saying "values don't meet the specifications of the schema"
    And release "kubeflow" is still at revision 1

  Scenario: The other validations pass again on the upgraded installation
    When I upgrade release "kubeflow" to the installer chart's next version with these component resources:
      | resource | limit | request |
      | cpu      | 500m  | 50m     |
      | memory   | 1Gi   | 128Mi   |
    Then the scenarios tagged post-upgrade pass against the upgraded installation

  Scenario: Uninstalling the release leaves nothing of it behind
    When I uninstall release "kubeflow"
    Then no object of release "kubeflow" is left in any namespace
