(define (problem trajkit_406_pick_and_place_simple)
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
        CabinetType - rtype
        CounterTopType - rtype
        FridgeType - rtype
        GarbageCanType - rtype
        MicrowaveType - rtype
        SinkBasinType - rtype
        ToiletType - rtype
        TowelHolderType - rtype
        ButterKnifeType - otype
        KnifeType - otype
        SoapBarType - otype
        SprayBottleType - otype
        ToiletPaperType - otype
        TowelType - otype
        Cabinet_bar_00 - receptacle
        CounterTop_bar_00 - receptacle
        GarbageCan_bar_00 - receptacle
        Sink_bar_00_bar_SinkBasin - receptacle
        Toilet_bar_00 - receptacle
        TowelHolder_bar_00 - receptacle
        SoapBar_bar_00 - object
        SprayBottle_bar_00 - object
        Towel_bar_00 - object
        ToiletPaper_bar_00 - object
    )
    (:init
        (atLocation agent1 locCenter)
        (receptacleType Cabinet_bar_00 CabinetType)
        (receptacleAtLocation Cabinet_bar_00 loc1)
        (openable Cabinet_bar_00)
        (canContain CabinetType SoapBarType)
        (canContain CabinetType SprayBottleType)
        (canContain CabinetType ToiletPaperType)
        (receptacleType CounterTop_bar_00 CounterTopType)
        (receptacleAtLocation CounterTop_bar_00 loc2)
        (canContain CounterTopType ButterKnifeType)
        (canContain CounterTopType KnifeType)
        (canContain CounterTopType SoapBarType)
        (canContain CounterTopType SprayBottleType)
        (canContain CounterTopType ToiletPaperType)
        (receptacleType GarbageCan_bar_00 GarbageCanType)
        (receptacleAtLocation GarbageCan_bar_00 loc3)
        (canContain GarbageCanType SoapBarType)
        (canContain GarbageCanType SprayBottleType)
        (canContain GarbageCanType ToiletPaperType)
        (receptacleType Sink_bar_00_bar_SinkBasin SinkBasinType)
        (receptacleAtLocation Sink_bar_00_bar_SinkBasin loc4)
        (canContain SinkBasinType ButterKnifeType)
        (canContain SinkBasinType KnifeType)
        (canContain SinkBasinType SoapBarType)
        (receptacleType Toilet_bar_00 ToiletType)
        (receptacleAtLocation Toilet_bar_00 loc5)
        (canContain ToiletType SoapBarType)
        (canContain ToiletType SprayBottleType)
        (canContain ToiletType ToiletPaperType)
        (receptacleType TowelHolder_bar_00 TowelHolderType)
        (receptacleAtLocation TowelHolder_bar_00 loc6)
        (canContain TowelHolderType TowelType)
        (objectType SoapBar_bar_00 SoapBarType)
        (inReceptacle SoapBar_bar_00 Cabinet_bar_00)
        (objectAtLocation SoapBar_bar_00 loc1)
        (cleanable SoapBar_bar_00)
        (pickupable SoapBar_bar_00)
        (objectType SprayBottle_bar_00 SprayBottleType)
        (inReceptacle SprayBottle_bar_00 CounterTop_bar_00)
        (objectAtLocation SprayBottle_bar_00 loc2)
        (pickupable SprayBottle_bar_00)
        (objectType Towel_bar_00 TowelType)
        (inReceptacle Towel_bar_00 TowelHolder_bar_00)
        (objectAtLocation Towel_bar_00 loc6)
        (pickupable Towel_bar_00)
        (objectType ToiletPaper_bar_00 ToiletPaperType)
        (inReceptacle ToiletPaper_bar_00 Toilet_bar_00)
        (objectAtLocation ToiletPaper_bar_00 loc5)
        (pickupable ToiletPaper_bar_00)
    )
        (:goal
            (and
                (exists (?r - receptacle)
                    (exists (?o - object)
                        (and
                            (inReceptacle ?o ?r)
                            (objectType ?o SoapBarType)
                            (receptacleType ?r ToiletType)
                        )
                    )
                )
            )
        )
    )
    
