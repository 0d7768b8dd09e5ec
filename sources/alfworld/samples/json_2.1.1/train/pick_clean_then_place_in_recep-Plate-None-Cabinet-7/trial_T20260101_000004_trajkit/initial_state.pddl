(define (problem trajkit_7_pick_clean_then_place_in_recep)
    (:domain alfred)
    (:objects
        agent1 - agent
        locCenter - location
        loc1 - location
        loc2 - location
        loc3 - location
        loc4 - location
        loc5 - location
        loc6 - location
        loc7 - location
        CabinetType - rtype
        CounterTopType - rtype
        DrawerType - rtype
        FridgeType - rtype
        MicrowaveType - rtype
        SinkBasinType - rtype
        StoveBurnerType - rtype
        ButterKnifeType - otype
        CupType - otype
        KnifeType - otype
        LettuceType - otype
        PlateType - otype
        PotType - otype
        SpatulaType - otype
        Cabinet_bar_00 - receptacle
        CounterTop_bar_01 - receptacle
        CounterTop_bar_00 - receptacle
        Drawer_bar_00 - receptacle
        Fridge_bar_00 - receptacle
        Sink_bar_00_bar_SinkBasin - receptacle
        StoveBurner_bar_00 - receptacle
        Plate_bar_00 - object
        Spatula_bar_00 - object
        Cup_bar_00 - object
        Lettuce_bar_00 - object
        Pot_bar_00 - object
    )
    (:init
        (atLocation agent1 locCenter)
        (receptacleType Cabinet_bar_00 CabinetType)
        (receptacleAtLocation Cabinet_bar_00 loc1)
        (openable Cabinet_bar_00)
        (canContain CabinetType CupType)
        (canContain CabinetType PlateType)
        (canContain CabinetType PotType)
        (receptacleType CounterTop_bar_01 CounterTopType)
        (receptacleAtLocation CounterTop_bar_01 loc2)
        (canContain CounterTopType ButterKnifeType)
        (canContain CounterTopType CupType)
        (canContain CounterTopType KnifeType)
        (canContain CounterTopType LettuceType)
        (canContain CounterTopType PlateType)
        (canContain CounterTopType PotType)
        (canContain CounterTopType SpatulaType)
        (receptacleType CounterTop_bar_00 CounterTopType)
        (receptacleAtLocation CounterTop_bar_00 loc3)
        (receptacleType Drawer_bar_00 DrawerType)
        (receptacleAtLocation Drawer_bar_00 loc4)
        (openable Drawer_bar_00)
        (canContain DrawerType ButterKnifeType)
        (canContain DrawerType KnifeType)
        (canContain DrawerType SpatulaType)
        (receptacleType Fridge_bar_00 FridgeType)
        (receptacleAtLocation Fridge_bar_00 loc5)
        (openable Fridge_bar_00)
        (canContain FridgeType CupType)
        (canContain FridgeType LettuceType)
        (canContain FridgeType PlateType)
        (canContain FridgeType PotType)
        (receptacleType Sink_bar_00_bar_SinkBasin SinkBasinType)
        (receptacleAtLocation Sink_bar_00_bar_SinkBasin loc6)
        (canContain SinkBasinType ButterKnifeType)
        (canContain SinkBasinType CupType)
        (canContain SinkBasinType KnifeType)
        (canContain SinkBasinType LettuceType)
        (canContain SinkBasinType PlateType)
        (canContain SinkBasinType PotType)
        (canContain SinkBasinType SpatulaType)
        (receptacleType StoveBurner_bar_00 StoveBurnerType)
        (receptacleAtLocation StoveBurner_bar_00 loc7)
        (canContain StoveBurnerType PotType)
        (objectType Plate_bar_00 PlateType)
        (inReceptacle Plate_bar_00 CounterTop_bar_00)
        (objectAtLocation Plate_bar_00 loc3)
        (heatable Plate_bar_00)
        (coolable Plate_bar_00)
        (cleanable Plate_bar_00)
        (pickupable Plate_bar_00)
        (objectType Spatula_bar_00 SpatulaType)
        (inReceptacle Spatula_bar_00 Drawer_bar_00)
        (objectAtLocation Spatula_bar_00 loc4)
        (cleanable Spatula_bar_00)
        (pickupable Spatula_bar_00)
        (objectType Cup_bar_00 CupType)
        (inReceptacle Cup_bar_00 CounterTop_bar_01)
        (objectAtLocation Cup_bar_00 loc2)
        (heatable Cup_bar_00)
        (coolable Cup_bar_00)
        (cleanable Cup_bar_00)
        (pickupable Cup_bar_00)
        (objectType Lettuce_bar_00 LettuceType)
        (inReceptacle Lettuce_bar_00 Fridge_bar_00)
        (objectAtLocation Lettuce_bar_00 loc5)
        (coolable Lettuce_bar_00)
        (cleanable Lettuce_bar_00)
        (pickupable Lettuce_bar_00)
        (objectType Pot_bar_00 PotType)
        (inReceptacle Pot_bar_00 StoveBurner_bar_00)
        (objectAtLocation Pot_bar_00 loc7)
        (coolable Pot_bar_00)
        (cleanable Pot_bar_00)
        (pickupable Pot_bar_00)
    )
        (:goal
            (and
                (exists (?r - receptacle)
                    (exists (?o - object)
                        (and
                            (cleanable ?o)
                            (objectType ?o PlateType)
                            (receptacleType ?r CabinetType)
                            (isClean ?o)
                            (inReceptacle ?o ?r)
                        )
                    )
                )
            )
        )
    )
    
