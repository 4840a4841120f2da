@builder @needs-rwx @needs-registry
Feature: Container images built in the cluster with Kaniko
  As a QA engineer validating a Kubeflow installation
  I want a notebook's code built into an image by Fairing's Kaniko builder, pushed, and run
  So that I know data scientists can ship what they wrote in a notebook as an image the cluster runs

  Background:
    Given the cluster serves Notebook of kubeflow.org/v1beta1
    And a fresh namespace for the scenario
    And a ReadWriteMany workspace "workspace" is bound
    And the builder's service account may pull from and push to the registry
    And the notebook "nb" is ready on the workspace "workspace"

  @smoke
  Scenario: The builder pushes an image built from the notebook's workspace
    Given the notebook "nb" saved the build context "app" to its workspace
    When the Fairing builder builds "app" from the workspace and pushes it as "app"
    Then the builder pod completes
    And the registry holds "app" under the digest the builder wrote
    And the image "app" runs "python3 /app/app.py" in "/app/" as a non-root user, with FAIRING_RUNTIME "1"
    And the components stay within their resource limits

  Scenario: A pod runs the image the builder pushed
    Given the notebook "nb" saved the build context "app" to its workspace
    And the Fairing builder has built "app" from the workspace and pushed it as "app"
    When a pod runs the image "app"
    Then the app prints what its RUN step wrote, as the same non-root user, on the TensorFlow base

  Scenario: A failing RUN step fails the builder with Kaniko's error and the step's exit code
    Given the notebook "nb" saved the build context "failing-run" to its workspace
    When the Fairing builder builds "failing-run" from the workspace and pushes it as "failing"
    Then the builder pod fails with the exit code of a RUN step that exits with 3
    And the builder's last log line is Kaniko's "error building image"
    And the registry does not hold "failing"

  Scenario: Wrong registry credentials stop the builder before it builds, and stay out of the reports
    Given the notebook "nb" saved the build context "app" to its workspace
    And the builder's registry credentials hold a wrong password
    When the Fairing builder builds "app" from the workspace and pushes it as "denied"
    Then the builder pod fails with exit code 1 before building
    And the builder's last log line is Kaniko's "error checking push permissions"
    And neither password appears in the builder's log, and both are masked in the reports

  Scenario: An image built without pushing is a tarball on the workspace that another pod reads
    Given the notebook "nb" saved the build context "app" to its workspace
    When the Fairing builder builds "app" from the workspace into the tarball "builds/app.tar", naming it "tarred"
    Then the builder pod completes
    And the registry does not hold "tarred"
    And another pod on the workspace "workspace" finds "tarred" in the image tarball "builds/app.tar"

  Scenario: A second build with a layer cache reuses the cached RUN layer
    Given the notebook "nb" saved the build context "app" to its workspace
    When the Fairing builder builds "app" twice with the layer cache "cache", pushing it as "cached"
    Then the second build says "Using caching version of cmd" for the RUN step
    And both build times are in the report
